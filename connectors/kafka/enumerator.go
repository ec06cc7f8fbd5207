package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/connectors"
)

// enumState is the enumerator's checkpoint: the partitions it has
// returned as splits.
type enumState struct {
	Partitions map[string][]int32 `json:"partitions"`
}

// enumerator lists the topics' partitions and turns the new ones into
// splits with concrete start (and, bounded, stop) offsets.
type enumerator struct {
	cfg    *config
	logger *slog.Logger
	cl     *kgo.Client
	adm    *kadm.Client
	now    func() time.Time

	known    map[string]map[int32]bool
	restored bool      // started from a checkpoint: every listing finds partitions "later"
	listed   bool      // the first listing is done
	last     time.Time // when the last listing was done
}

func newEnumerator(cfg *config, ec connectors.EnumeratorContext, checkpoint []byte) (*enumerator, error) {
	e := &enumerator{cfg: cfg, logger: ec.Logger, now: time.Now, known: map[string]map[int32]bool{}}
	if e.logger == nil {
		e.logger = slog.Default()
	}
	if checkpoint != nil {
		var st enumState
		if err := json.Unmarshal(checkpoint, &st); err != nil {
			return nil, fmt.Errorf("kafka: table '%s': cannot read the enumerator's checkpoint: %w", cfg.table, err)
		}
		for t, ps := range st.Partitions {
			for _, p := range ps {
				e.mark(t, p)
			}
		}
		e.restored = true
	}
	// Offsets are listed through kadm, which maps partitions to leaders
	// with cached metadata: keep it fresh enough for new partitions.
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...), kgo.MetadataMinAge(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", cfg.table, err)
	}
	e.cl, e.adm = cl, kadm.NewClient(cl)
	return e, nil
}

func (e *enumerator) mark(t string, p int32) {
	if e.known[t] == nil {
		e.known[t] = map[int32]bool{}
	}
	e.known[t][p] = true
}

// Discover lists the partitions and returns those not returned before. At
// the first listing of a fresh start they start where 'scan.startup.mode'
// says; partitions found later (or after a restore) start at their
// earliest offset, so nothing written to a new partition is missed. A
// bounded source stops every partition at its end offset at the first
// listing and is done after it; an unbounded one is never done.
func (e *enumerator) Discover(ctx context.Context) ([]connectors.Split, bool, error) {
	first := !e.listed
	if e.listed {
		if e.cfg.bounded {
			return nil, true, nil
		}
		// Unbounded: never done, even with discovery off, so that a
		// reader without partitions stays (an ended source subtask
		// would end the job's checkpoints).
		if e.cfg.discovery == 0 || e.now().Sub(e.last) < e.cfg.discovery {
			return nil, false, nil
		}
	}
	splits, err := e.list(ctx, first && !e.restored)
	if err != nil {
		if first {
			return nil, false, err
		}
		// A failed later listing is tried again at the next interval.
		e.logger.Warn("kafka: partition discovery failed; trying again later", "table", e.cfg.table, "err", err)
		e.last = e.now()
		return nil, false, nil
	}
	e.listed, e.last = true, e.now()
	return splits, e.cfg.bounded, nil
}

// list finds the new partitions and resolves their offsets. initial
// selects the startup mode (else: earliest).
func (e *enumerator) list(ctx context.Context, initial bool) ([]connectors.Split, error) {
	where := fmt.Sprintf("kafka: table '%s'", e.cfg.table)
	// A direct metadata request: kadm's listings use cached metadata,
	// which would hide new partitions for a while.
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range e.cfg.topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, e.cl)
	if err != nil {
		return nil, fmt.Errorf("%s: listing the partitions of %v: %w", where, e.cfg.topics, err)
	}
	listed := map[string][]int32{}
	for _, rt := range resp.Topics {
		if rt.Topic == nil {
			continue
		}
		t := *rt.Topic
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("%s: topic '%s' does not exist", where, t)
			}
			return nil, fmt.Errorf("%s: topic '%s': %w", where, t, err)
		}
		listed[t] = []int32{}
		for _, p := range rt.Partitions {
			listed[t] = append(listed[t], p.Partition)
		}
	}
	fresh := map[string][]int32{}
	for _, t := range e.cfg.topics {
		ps, ok := listed[t]
		if !ok {
			return nil, fmt.Errorf("%s: topic '%s' does not exist", where, t)
		}
		for _, p := range ps {
			if !e.known[t][p] {
				fresh[t] = append(fresh[t], p)
			}
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	topics := make([]string, 0, len(fresh))
	for t := range fresh {
		topics = append(topics, t)
		sort.Slice(fresh[t], func(i, j int) bool { return fresh[t][i] < fresh[t][j] })
	}
	sort.Strings(topics)

	// Stop offsets first, so that a start resolved after them (latest, a
	// timestamp) can only be later, and is then clamped.
	var stops kadm.ListedOffsets
	if e.cfg.bounded {
		if e.cfg.readCommited {
			stops, err = e.adm.ListCommittedOffsets(ctx, topics...)
		} else {
			stops, err = e.adm.ListEndOffsets(ctx, topics...)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: listing the end offsets of %v: %w", where, topics, err)
		}
	}
	starts, err := e.startOffsets(ctx, initial, topics)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	var out []connectors.Split
	for _, t := range topics {
		for _, p := range fresh[t] {
			start, ok := starts[t][p]
			if !ok {
				return nil, fmt.Errorf("%s: no start offset listed for partition %s", where, splitID(t, p))
			}
			st := splitState{Topic: t, Partition: p, Offset: start, Stop: noStop}
			if e.cfg.bounded {
				o, ok := stops.Lookup(t, p)
				if !ok || o.Err != nil {
					return nil, fmt.Errorf("%s: no end offset for partition %s: %v", where, splitID(t, p), o.Err)
				}
				st.Stop = o.Offset
				if st.Offset > st.Stop {
					st.Offset = st.Stop
				}
			}
			sp, err := st.split()
			if err != nil {
				return nil, err
			}
			out = append(out, sp)
		}
	}
	for _, t := range topics {
		for _, p := range fresh[t] {
			e.mark(t, p)
		}
	}
	return out, nil
}

// startOffsets resolves the start offset of every partition of topics.
func (e *enumerator) startOffsets(ctx context.Context, initial bool, topics []string) (map[string]map[int32]int64, error) {
	mode := StartupEarliest
	if initial {
		mode = e.cfg.startup
	}
	out := map[string]map[int32]int64{}
	put := func(l kadm.ListedOffsets, what string) error {
		for t, ps := range l {
			for p, o := range ps {
				if o.Err != nil {
					return fmt.Errorf("listing %s offset of partition %s: %w", what, splitID(t, p), o.Err)
				}
				if out[t] == nil {
					out[t] = map[int32]int64{}
				}
				out[t][p] = o.Offset
			}
		}
		return nil
	}
	earliest, err := e.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing the start offsets of %v: %w", topics, err)
	}
	if err := put(earliest, "the start"); err != nil {
		return nil, err
	}
	switch mode {
	case StartupEarliest:
	case StartupLatest:
		l, err := e.adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("listing the end offsets of %v: %w", topics, err)
		}
		if err := put(l, "the end"); err != nil {
			return nil, err
		}
	case StartupTimestamp:
		l, err := e.adm.ListOffsetsAfterMilli(ctx, e.cfg.startupMs, topics...)
		if err != nil {
			return nil, fmt.Errorf("listing the offsets after %d ms of %v: %w", e.cfg.startupMs, topics, err)
		}
		if err := put(l, "the timestamp's"); err != nil {
			return nil, err
		}
	case StartupGroupOffsets:
		var missing []string
		committed := kadm.OffsetResponses{}
		if e.cfg.groupID != "" {
			committed, err = e.adm.FetchOffsetsForTopics(ctx, e.cfg.groupID, topics...)
			if errors.Is(err, kerr.GroupIDNotFound) {
				committed, err = kadm.OffsetResponses{}, nil
			}
			if err != nil {
				return nil, fmt.Errorf("fetching the offsets of group '%s': %w", e.cfg.groupID, err)
			}
		}
		for _, t := range topics {
			for p := range out[t] {
				r, ok := committed.Lookup(t, p)
				if ok && r.Err != nil {
					return nil, fmt.Errorf("fetching group '%s''s offset of partition %s: %w", e.cfg.groupID, splitID(t, p), r.Err)
				}
				if !ok || r.At < 0 {
					missing = append(missing, splitID(t, p))
					continue
				}
				// A committed offset below the log start (retention) is
				// out of range: read from the start instead.
				out[t][p] = max(out[t][p], r.At)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			e.logger.Info("kafka: no committed group offsets; starting those partitions from the earliest offset",
				"table", e.cfg.table, "group", e.cfg.groupID, "partitions", missing)
		}
	default:
		return nil, fmt.Errorf("unknown startup mode '%s'", mode)
	}
	return out, nil
}

// Snapshot returns the partitions already returned as splits.
func (e *enumerator) Snapshot() ([]byte, error) {
	st := enumState{Partitions: map[string][]int32{}}
	for t, ps := range e.known {
		for p := range ps {
			st.Partitions[t] = append(st.Partitions[t], p)
		}
		sort.Slice(st.Partitions[t], func(i, j int) bool { return st.Partitions[t][i] < st.Partitions[t][j] })
	}
	return json.Marshal(st)
}

// Close closes the admin client.
func (e *enumerator) Close() error {
	e.cl.Close()
	return nil
}
