package analyze

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// stateTTLHints applies the STATE_TTL hints of a SELECT (Flink's
// SELECT /*+ STATE_TTL('input' = 'duration', ...) */): a key names an input
// of one of the SELECT's joins, whose LeftTTLMs or RightTTLMs it sets, or
// the input of its aggregation (a single FROM item), whose StateTTLMs it
// sets. Inputs are named by their alias, or by their table, view or WITH
// query name when they have none; a join of joins has no name, so in
// a JOIN b JOIN c the keys reach a and b (the first join) and c (the right
// side of the second). Within one hint the last value of a key wins; across
// hints the first, as in Flink.
func (c *qctx) stateTTLHints(si *selectInfo) error {
	hints := c.q.Hints(si.sel)
	if len(hints) == 0 {
		return nil
	}
	type setting struct {
		ms  int64
		opt parse.HintOption
	}
	var order []string
	settings := map[string]setting{}
	for _, h := range hints {
		if h.Name != "STATE_TTL" {
			return c.errorf(h.At, "unknown hint '%s' (supported hints: STATE_TTL)", h.Name)
		}
		mine := map[string]setting{}
		for _, o := range h.Options {
			ms, err := hintDuration(o.Value)
			if err != nil {
				return c.errorf(o.ValuePos, "STATE_TTL('%s' = '%s'): %v", o.Key, o.Value, err)
			}
			mine[strings.ToLower(o.Key)] = setting{ms: ms, opt: o}
		}
		keys := make([]string, 0, len(mine))
		for k := range mine {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return mine[keys[i]].opt.At.Offset < mine[keys[j]].opt.At.Offset })
		for _, k := range keys {
			if _, seen := settings[k]; !seen {
				settings[k] = mine[k]
				order = append(order, k)
			}
		}
	}
	aggInput := ""
	if len(si.aggs) > 0 {
		aggInput = inputName(si.from)
	}
	var valid []string
	addValid := func(n string) {
		if n == "" {
			return
		}
		for _, v := range valid {
			if strings.EqualFold(v, n) {
				return
			}
		}
		valid = append(valid, n)
	}
	for _, j := range si.joins {
		addValid(j.left)
		addValid(j.right)
	}
	addValid(aggInput)
	for _, k := range order {
		s := settings[k]
		matched := false
		for _, j := range si.joins {
			if j.left != "" && strings.EqualFold(j.left, k) {
				j.join.LeftTTLMs, matched = s.ms, true
			}
			if j.right != "" && strings.EqualFold(j.right, k) {
				j.join.RightTTLMs, matched = s.ms, true
			}
		}
		if aggInput != "" && strings.EqualFold(aggInput, k) {
			for _, a := range si.aggs {
				a.StateTTLMs = s.ms
			}
			matched = true
		}
		if matched {
			continue
		}
		if len(valid) == 0 {
			return c.errorf(s.opt.At, "STATE_TTL key '%s' matches nothing: this SELECT has no join or aggregation with a named input (a STATE_TTL key names a join input or the input table of a GROUP BY, by its alias if it has one)", s.opt.Key)
		}
		return c.errorf(s.opt.At, "STATE_TTL key '%s' matches no input of this SELECT's joins or aggregation; valid keys: '%s' (an input with an alias must be named by its alias)", s.opt.Key, strings.Join(valid, "', '"))
	}
	return nil
}

// hintDuration parses a STATE_TTL duration in Flink's forms ('1d', '12 h',
// '90 min', '500ms') into milliseconds; it must be at least 1 ms.
func hintDuration(v string) (int64, error) {
	d, err := connectors.ParseDuration(v)
	if err != nil {
		// connectors.ParseDuration wants a space between the number and a
		// unit Go does not know ("1 d"): Flink also accepts "1d".
		t := strings.TrimSpace(v)
		i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) })
		if i > 0 {
			d, err = connectors.ParseDuration(t[:i] + " " + strings.TrimSpace(t[i:]))
		}
	}
	if err != nil {
		return 0, fmt.Errorf("not a duration: write e.g. '1d', '12 h', '90 min' or '500ms'")
	}
	if d < time.Millisecond {
		return 0, fmt.Errorf("the state TTL must be at least 1 ms")
	}
	return d.Milliseconds(), nil
}
