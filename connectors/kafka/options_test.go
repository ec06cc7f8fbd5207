package kafka

import (
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Mistakes are refused at CREATE TABLE with an error naming the option.
func TestValidateTable(t *testing.T) {
	base := map[string]string{"topic": "t", "properties.bootstrap.servers": "localhost:9092", "format": "json"}
	with := func(kv ...string) map[string]string {
		o := map[string]string{}
		for k, v := range base {
			o[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(o, kv[i])
				continue
			}
			o[kv[i]] = kv[i+1]
		}
		return o
	}
	str := types.Schema{Fields: []types.Field{{Name: "line", Type: types.StringType}}}
	cases := []struct {
		opts   map[string]string
		schema types.Schema
		pk     []int
		upsert bool
		err    string // "" = valid
	}{
		{opts: with(), err: ""},
		{opts: with("topic", "a;b", "scan.bounded.mode", "latest-offset"), err: ""},
		{opts: with("topic", ""), err: "'topic'"},
		{opts: with("topic", "a b"), err: "'topic'"},
		{opts: with("properties.bootstrap.servers", ""), err: "'properties.bootstrap.servers'"},
		{opts: with("format", ""), err: "'format'"},
		{opts: with("format", "avro"), err: "'format'"},
		{opts: with("format", "", "value.format", "csv"), err: ""},
		{opts: with("value.format", "csv"), err: "disagree"},
		{opts: with("scan.startup.mode", "timestamp"), err: "'scan.startup.timestamp-millis'"},
		{opts: with("scan.startup.mode", "timestamp", "scan.startup.timestamp-millis", "1700000000000"), err: ""},
		{opts: with("scan.startup.timestamp-millis", "5"), err: "'scan.startup.timestamp-millis'"},
		{opts: with("scan.startup.mode", "newest"), err: "'scan.startup.mode'"},
		{opts: with("scan.bounded.mode", "forever"), err: "'scan.bounded.mode'"},
		{opts: with("properties.isolation.level", "serializable"), err: "'properties.isolation.level'"},
		{opts: with("scan.topic-partition-discovery.interval", "soon"), err: "'scan.topic-partition-discovery.interval'"},
		{opts: with("sink.delivery-guarantee", "exactly-once"), err: "'sink.transactional-id-prefix'"},
		{opts: with("sink.delivery-guarantee", "exactly-once", "sink.transactional-id-prefix", "job"), err: ""},
		{opts: with("sink.delivery-guarantee", "twice"), err: "'sink.delivery-guarantee'"},
		{opts: with("properties.transaction.timeout.ms", "0"), err: "'properties.transaction.timeout.ms'"},
		{opts: with("format", "raw"), err: "exactly one STRING column"},
		{opts: with("format", "raw"), schema: str, err: ""},
		{opts: with("key.format", "json"), err: "'key.fields'"},
		{opts: with("key.fields", "id"), err: "'key.format'"},
		{opts: with("key.format", "json", "key.fields", "nope"), err: "'key.fields'"},
		{opts: with("key.format", "raw", "key.fields", "name"), err: ""},
		{opts: with("key.format", "raw", "key.fields", "id"), err: "'key.format' = 'raw'"},
		{opts: with("csv.field-delimiter", ";"), err: "'csv.field-delimiter' does not apply"},
		{opts: with("format", "csv", "csv.field-delimiter", ";;"), err: "'csv.field-delimiter'"},
		{opts: with("json.fail-on-missing-field", "true"), err: ""},
		{opts: with("bad-records.policy", "dead-letter"), err: "'bad-records.dead-letter-table'"},
		{opts: with("bad-records.policy", "skip"), err: ""},
		{opts: with("what", "ever"), err: "unknown option 'what'"},
		// upsert-kafka
		{upsert: true, pk: []int{0}, opts: map[string]string{"topic": "u", "properties.bootstrap.servers": "h:1", "key.format": "json", "value.format": "json"}, err: ""},
		{upsert: true, opts: map[string]string{"topic": "u", "properties.bootstrap.servers": "h:1", "key.format": "json", "value.format": "json"}, err: "PRIMARY KEY"},
		{upsert: true, pk: []int{0}, opts: map[string]string{"topic": "u", "properties.bootstrap.servers": "h:1", "value.format": "json"}, err: "'key.format'"},
		{upsert: true, pk: []int{0}, opts: map[string]string{"topic": "u", "properties.bootstrap.servers": "h:1", "key.format": "json"}, err: "'value.format'"},
		{upsert: true, pk: []int{0}, opts: map[string]string{"topic": "u;v", "properties.bootstrap.servers": "h:1", "key.format": "json", "value.format": "json"}, err: "one topic"},
		{upsert: true, pk: []int{0}, opts: map[string]string{"topic": "u", "properties.bootstrap.servers": "h:1", "key.format": "json", "value.format": "json", "format": "json"}, err: "unknown option 'format'"},
	}
	for _, c := range cases {
		schema := c.schema
		if schema.Fields == nil {
			schema = testSchema
		}
		info := connectors.TableInfo{Name: "t", Schema: schema, Options: c.opts, PrimaryKey: c.pk}
		var err error
		if c.upsert {
			err = NewUpsert().ValidateTable(info)
		} else {
			err = New().ValidateTable(info)
		}
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%v: unexpected error %v", c.opts, err)
		case c.err != "" && err == nil:
			t.Errorf("%v: no error, want one about %s", c.opts, c.err)
		case c.err != "" && !strings.Contains(err.Error(), c.err):
			t.Errorf("%v: error %q does not mention %s", c.opts, err, c.err)
		}
	}
	// A sink writes one topic.
	if _, err := New().NewSink(connectors.TableInfo{Name: "t", Schema: testSchema, Options: with("topic", "a;b")}); err == nil || !strings.Contains(err.Error(), "'topic'") {
		t.Errorf("a sink with two topics: %v", err)
	}
	// Every option has a description; names are unique.
	for _, specs := range [][]connectors.OptionSpec{New().Options(), NewUpsert().Options()} {
		seen := map[string]bool{}
		for _, s := range specs {
			if s.Description == "" || seen[s.Key] {
				t.Errorf("option %q: empty description or listed twice", s.Key)
			}
			seen[s.Key] = true
		}
	}
}
