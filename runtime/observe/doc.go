// Package observe is what parigot run shows of a running app: its metrics,
// in Prometheus's exposition format, and the dashboard that serves them.
//
// The host reports each call it completes, each restart, and how to read
// each guest's inbox depth and memory; a run that asks for none of it (no
// --dashboard) has no *Metrics, and the host's hooks cost one nil check.
// It is not a place for the host's own logic: it only counts.
package observe
