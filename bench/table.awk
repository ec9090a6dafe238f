# Turns ktbench JSON lines into a markdown table: one row per workload, one column per
# target, figures of `metric`, throughput shown with its ratio to the first target.
# Variables: targets (space-separated), workloads (';'-separated), metric (a JSON field).
function field(line, name,    m) {
  if (match(line, "\"" name "\":(\"[^\"]*\"|[-0-9.e+]+)")) {
    m = substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
    gsub(/"/, "", m)
    return m
  }
  return ""
}
function fmt(v) {
  if (v >= 100) return sprintf("%.0f", v)
  return sprintf("%.1f", v)
}
{
  label = field($0, "label")
  v = field($0, metric)
  if (v != "") value[label] = v + 0  # null (no sample of that kind): shown as "–"
  bad[label] = (field($0, "errors") + 0 > 0 || field($0, "mismatches") + 0 > 0)
}
END {
  nt = split(targets, t, " ")
  nw = split(workloads, w, ";")
  throughput = (metric ~ /per_sec/)
  header = "| workload |"
  rule = "|---|"
  for (i = 1; i <= nt; i++) {
    header = header " " t[i] " |"
    rule = rule "---:|"
  }
  print header
  print rule
  for (j = 1; j <= nw; j++) {
    if (w[j] == "") continue
    row = "| " w[j] " |"
    base = t[1] "|" w[j]
    for (i = 1; i <= nt; i++) {
      key = t[i] "|" w[j]
      if (!(key in value)) {
        row = row " – |"
        continue
      }
      cell = fmt(value[key])
      if (throughput && i > 1 && (base in value) && value[base] > 0) {
        cell = cell sprintf(" (%.2fx)", value[key] / value[base])
      }
      if (bad[key]) cell = cell " ERR"
      row = row " " cell " |"
    }
    print row
  }
}
