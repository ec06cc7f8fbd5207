package runtime

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/engine/operator"
)

// Names of the counters the runtime itself keeps for every operator.
const (
	recordsInName  = "records_in"
	recordsOutName = "records_out"
	// LateRecordsDroppedName is the counter operators bump for every late
	// row they drop; Result sums it.
	LateRecordsDroppedName = "late_records_dropped"
)

var metricLabels = []string{"job", "vertex", "operator", "subtask"}

// metricSet holds a job's counter families, one prometheus CounterVec per
// counter name, and every operator subtask's counters for Result.
type metricSet struct {
	reg    prometheus.Registerer
	job    string
	logger *slog.Logger

	mu   sync.Mutex
	vecs map[string]*prometheus.CounterVec
	all  []*opMetrics
}

func newMetricSet(reg prometheus.Registerer, job string, logger *slog.Logger) *metricSet {
	return &metricSet{reg: reg, job: job, logger: logger, vecs: map[string]*prometheus.CounterVec{}}
}

// promName turns a counter name into a prometheus metric name:
// "records_in" -> "eddy_records_in_total".
func promName(name string) string {
	n := "eddy_" + name
	if !strings.HasSuffix(n, "_total") {
		n += "_total"
	}
	return n
}

// validName reports whether name is snake_case ASCII: [a-z_][a-z0-9_]*.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_' || c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// vec returns the counter family called name, registering it on first use.
// It returns nil when the family cannot be registered; the counter then
// still counts for Result.
func (m *metricSet) vec(name, help string) *prometheus.CounterVec {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.vecs[name]; ok {
		return v
	}
	var v *prometheus.CounterVec
	if validName(name) {
		if help == "" {
			help = name
		}
		v = prometheus.NewCounterVec(prometheus.CounterOpts{Name: promName(name), Help: help}, metricLabels)
		if err := m.reg.Register(v); err != nil {
			// Another job on the same registerer made this family already.
			var are prometheus.AlreadyRegisteredError
			ev, ok := (*prometheus.CounterVec)(nil), false
			if errors.As(err, &are) {
				ev, ok = are.ExistingCollector.(*prometheus.CounterVec)
			}
			if ok {
				v = ev
			} else {
				m.logger.Warn("cannot register metric", "metric", promName(name), "err", err)
				v = nil
			}
		}
	} else {
		m.logger.Warn("metric name is not snake_case; it is not exported", "metric", name)
	}
	m.vecs[name] = v
	return v
}

// forOperator returns the metrics of one operator subtask.
func (m *metricSet) forOperator(vertex, op string, subtask int) *opMetrics {
	om := &opMetrics{set: m, vertex: vertex, op: op, subtask: strconv.Itoa(subtask), counters: map[string]*counter{}}
	om.in = om.counter(recordsInName, "Rows handed to the operator.")
	om.out = om.counter(recordsOutName, "Rows the operator emitted (read, for a source).")
	m.mu.Lock()
	m.all = append(m.all, om)
	m.mu.Unlock()
	return om
}

// opMetrics implements operator.Metrics for one operator subtask.
type opMetrics struct {
	set                 *metricSet
	vertex, op, subtask string

	mu       sync.Mutex
	counters map[string]*counter
	in, out  *counter
}

// Counter implements operator.Metrics.
func (o *opMetrics) Counter(name, help string) operator.Counter {
	return o.counter(name, help)
}

func (o *opMetrics) counter(name, help string) *counter {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.counters[name]; ok {
		return c
	}
	c := &counter{}
	if v := o.set.vec(name, help); v != nil {
		pc, err := v.GetMetricWithLabelValues(o.set.job, o.vertex, o.op, o.subtask)
		if err == nil {
			c.prom = pc
		}
	}
	o.counters[name] = c
	return c
}

// value returns the counter called name, or 0.
func (o *opMetrics) value(name string) int64 {
	o.mu.Lock()
	c := o.counters[name]
	o.mu.Unlock()
	if c == nil {
		return 0
	}
	return int64(c.Value())
}

// addValues adds every counter's value to sums, by name.
func (o *opMetrics) addValues(sums map[string]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for name, c := range o.counters {
		sums[name] += int64(c.Value())
	}
}

// counter is a prometheus counter that also keeps its value for Result.
type counter struct {
	prom prometheus.Counter
	bits atomic.Uint64 // float64 bits
}

// Add implements operator.Counter. Negative, NaN and infinite deltas are
// ignored: counters only go up.
func (c *counter) Add(delta float64) {
	if !(delta > 0) || math.IsInf(delta, 0) {
		return
	}
	if c.prom != nil {
		c.prom.Add(delta)
	}
	for {
		old := c.bits.Load()
		if c.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+delta)) {
			return
		}
	}
}

// Value returns the counter's total.
func (c *counter) Value() float64 { return math.Float64frombits(c.bits.Load()) }

var _ operator.Metrics = (*opMetrics)(nil)
