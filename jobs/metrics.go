package jobs

import "github.com/prometheus/client_golang/prometheus"

// metrics are the pipeline's Prometheus collectors: what an operator watches to see OCR keeping up
// and partners' endpoints failing.
type metrics struct {
	deliveries *prometheus.CounterVec // by event and outcome (delivered, retry, failed)
	latency    prometheus.Histogram   // delivery attempt latency
	ocrPages   *prometheus.CounterVec // by source (tiff, pdf) and status
	ocrSeconds prometheus.Histogram   // OCR time per fax
	extracts   *prometheus.CounterVec // by status
	purged     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faxseal_webhook_attempts_total", Help: "Webhook delivery attempts by event and outcome (delivered, retry, failed).",
		}, []string{"event", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "faxseal_webhook_attempt_duration_seconds", Help: "Webhook delivery attempt latency, timeouts included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		ocrPages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faxseal_ocr_faxes_total", Help: "Received faxes OCRed, by page source (tiff, pdf) and status (done, failed).",
		}, []string{"source", "status"}),
		ocrSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "faxseal_ocr_duration_seconds", Help: "OCR time per received fax, all pages.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 10),
		}),
		extracts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faxseal_extractions_total", Help: "AI extractions by final status (done, failed, disabled).",
		}, []string{"status"}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faxseal_inbox_purged_total", Help: "Received faxes whose files the retention job purged.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.deliveries, m.latency, m.ocrPages, m.ocrSeconds, m.extracts, m.purged} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
