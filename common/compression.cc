#include "common/compression.h"

#include <lzma.h>
#include <lzo/lzo1x.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

namespace ryoan {
namespace {

// The most an .xz decoder may allocate: a hostile header can ask for a huge dictionary.
constexpr uint64_t kLzmaMemoryLimit = uint64_t{256} << 20;

bool LzoReady() {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] { ready = lzo_init() == LZO_E_OK; });
  return ready;
}

bool LzoCompress(std::string_view in, std::string* out) {
  if (!LzoReady()) return false;
  // LZO1X's documented worst case: the input plus 1/16 of it plus 67 bytes.
  out->resize(in.size() + in.size() / 16 + 64 + 3);
  std::string work(LZO1X_1_MEM_COMPRESS, '\0');
  lzo_uint len = out->size();
  int rc = lzo1x_1_compress(reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                            reinterpret_cast<unsigned char*>(out->data()), &len, work.data());
  out->resize(rc == LZO_E_OK ? len : 0);
  return rc == LZO_E_OK;
}

bool LzoDecompress(std::string_view in, size_t max_size, std::string* out) {
  if (!LzoReady()) return false;
  // The output size is not recorded: start from a guess and grow on overrun.
  size_t capacity = std::min(max_size, in.size() * 4 + 4096);
  for (;;) {
    out->resize(capacity);
    lzo_uint len = capacity;
    int rc = lzo1x_decompress_safe(reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                                   reinterpret_cast<unsigned char*>(out->data()), &len, nullptr);
    if (rc == LZO_E_OK) {
      out->resize(len);
      return true;
    }
    if (rc != LZO_E_OUTPUT_OVERRUN || capacity >= max_size) break;
    capacity = capacity > max_size / 2 ? max_size : capacity * 2;
  }
  out->clear();
  return false;
}

// Runs an initialized lzma stream over `in` to its end, failing past max_size output bytes.
bool LzmaRun(lzma_stream* strm, std::string_view in, size_t max_size, std::string* out) {
  strm->next_in = reinterpret_cast<const uint8_t*>(in.data());
  strm->avail_in = in.size();
  out->clear();
  char buf[65536];
  lzma_ret rc = LZMA_OK;
  while (rc == LZMA_OK) {
    strm->next_out = reinterpret_cast<uint8_t*>(buf);
    strm->avail_out = sizeof(buf);
    rc = lzma_code(strm, LZMA_FINISH);
    size_t got = sizeof(buf) - strm->avail_out;
    if (out->size() + got > max_size) {
      rc = LZMA_DATA_ERROR;
      break;
    }
    out->append(buf, got);
  }
  lzma_end(strm);
  if (rc != LZMA_STREAM_END) out->clear();
  return rc == LZMA_STREAM_END;
}

bool LzmaCompress(std::string_view in, std::string* out) {
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_easy_encoder(&strm, 6, LZMA_CHECK_NONE) != LZMA_OK) return false;
  return LzmaRun(&strm, in, SIZE_MAX, out);
}

bool LzmaDecompress(std::string_view in, size_t max_size, std::string* out) {
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, kLzmaMemoryLimit, 0) != LZMA_OK) return false;
  return LzmaRun(&strm, in, max_size, out);
}

}  // namespace

Compression CompressionByName(std::string_view name) {
  if (name == "zlib" || name == "gz") return Compression::kZlib;
  if (name == "lzo" || name == "oz") return Compression::kLzo;
  if (name == "lzma" || name == "xz") return Compression::kLzma;
  return Compression::kNone;
}

const char* CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kZlib:
      return "zlib";
    case Compression::kLzo:
      return "lzo";
    case Compression::kLzma:
      return "lzma";
    default:
      return "none";
  }
}

bool Compress(Compression compression, std::string_view in, std::string* out) {
  switch (compression) {
    case Compression::kZlib:
      return Deflate(in, -15, out);
    case Compression::kLzo:
      return LzoCompress(in, out);
    case Compression::kLzma:
      return LzmaCompress(in, out);
    default:
      out->assign(in);
      return true;
  }
}

bool Decompress(Compression compression, std::string_view in, size_t max_size, std::string* out) {
  switch (compression) {
    case Compression::kZlib:
      return Inflate(in, -15, max_size, out);
    case Compression::kLzo:
      return LzoDecompress(in, max_size, out);
    case Compression::kLzma:
      return LzmaDecompress(in, max_size, out);
    default:
      if (in.size() > max_size) return false;
      out->assign(in);
      return true;
  }
}

bool Deflate(std::string_view in, int window_bits, std::string* out) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return false;
  }
  out->resize(deflateBound(&z, in.size()) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  int rv = deflate(&z, Z_FINISH);
  out->resize(z.total_out);
  deflateEnd(&z);
  return rv == Z_STREAM_END;
}

bool Inflate(std::string_view in, int window_bits, size_t max_size, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return false;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  out->clear();
  char buf[16384];
  int rv = Z_OK;
  while (rv == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rv = inflate(&z, Z_NO_FLUSH);
    if (rv != Z_OK && rv != Z_STREAM_END) break;
    size_t got = sizeof(buf) - z.avail_out;
    if (out->size() + got > max_size) {
      rv = Z_DATA_ERROR;
      break;
    }
    out->append(buf, got);
    if (rv == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&z);
  if (rv != Z_STREAM_END) out->clear();
  return rv == Z_STREAM_END;
}

}  // namespace ryoan
