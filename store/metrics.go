package store

import "github.com/prometheus/client_golang/prometheus"

// PoolCollector exports the connection pool's state as Prometheus metrics (faxseal_db_*), so an
// operator can see a node starved of connections before requests time out.
func (s *Store) PoolCollector() prometheus.Collector { return poolCollector{s} }

type poolCollector struct{ s *Store }

var (
	descTotal    = prometheus.NewDesc("faxseal_db_connections", "Open database connections by state.", []string{"state"}, nil)
	descMax      = prometheus.NewDesc("faxseal_db_connections_max", "The pool's connection limit.", nil, nil)
	descAcquires = prometheus.NewDesc("faxseal_db_acquires_total", "Connections handed out by the pool.", nil, nil)
	descWaits    = prometheus.NewDesc("faxseal_db_acquire_waits_total", "Acquires that had to wait for a free connection.", nil, nil)
	descWaitTime = prometheus.NewDesc("faxseal_db_acquire_wait_seconds_total", "Time spent waiting for a free connection.", nil, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTotal, descMax, descAcquires, descWaits, descWaitTime} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.pool.Stat()
	ch <- prometheus.MustNewConstMetric(descTotal, prometheus.GaugeValue, float64(st.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(descTotal, prometheus.GaugeValue, float64(st.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(descTotal, prometheus.GaugeValue, float64(st.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(descMax, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(descAcquires, prometheus.CounterValue, float64(st.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(descWaitTime, prometheus.CounterValue, st.AcquireDuration().Seconds())
}
