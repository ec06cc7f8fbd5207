package checkpoint

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

func TestMetadataRoundTripAndDamage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	bs := randBlobs(rng, 6, "f")
	m := meta(7, 128, [][]blob{bs[:2], bs[2:5], nil})
	m.Operators["agg"].Subtasks[2].Backend = nil
	m.Operators["src"] = &OperatorState{Parallelism: 1, Subtasks: []*SubtaskState{{Position: []byte(`{"offset":42}`), Watermark: -5}}}
	m.Operators["sink"] = &OperatorState{Parallelism: 1, Subtasks: []*SubtaskState{{Committable: []byte{0, 1, 2, 255}, Pending: [][]byte{{1}, {2, 3}}}}}
	data, err := EncodeMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	// Every truncation is detected.
	for n := 0; n < len(data); n++ {
		if _, err := DecodeMetadata(data[:n]); err == nil {
			t.Fatalf("truncation to %d of %d bytes not detected", n, len(data))
		}
	}
	// Every single-byte change is detected.
	for i := 0; i < len(data); i++ {
		bad := append([]byte(nil), data...)
		bad[i] ^= byte(1 + rng.Intn(255))
		if _, err := DecodeMetadata(bad); err == nil {
			t.Fatalf("change of byte %d (%q) not detected", i, data[i])
		}
	}
	if _, err := DecodeMetadata(append(data, 'x')); err == nil || !strings.Contains(err.Error(), "appended") {
		t.Fatalf("appended byte: %v", err)
	}
}

func TestMetadataValidate(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	bs := randBlobs(rng, 2, "f")
	cases := []struct {
		name string
		edit func(m *Metadata)
		want string
	}{
		{"id", func(m *Metadata) { m.ID = 0 }, "ID must be positive"},
		{"maxp", func(m *Metadata) { m.MaxParallelism = 0 }, "max parallelism 0"},
		{"count", func(m *Metadata) { m.Operators["agg"].Parallelism = 3 }, "2 subtask entries for parallelism 3"},
		{"order", func(m *Metadata) { m.Operators["agg"].Subtasks[1].Subtask = 0 }, "entry 1 is for subtask 0"},
		{"range", func(m *Metadata) { m.Operators["agg"].Subtasks[1].KeyGroups.End = 129 }, "not within [0, 128)"},
		{"name", func(m *Metadata) { m.Operators["agg"].Subtasks[0].Backend.Files[0].Name = "a/../x" }, `character '/'`},
		{"hidden", func(m *Metadata) { m.Operators["agg"].Subtasks[0].Backend.Files[0].Name = ".x" }, "starts with a dot"},
		{"sha", func(m *Metadata) { m.Operators["agg"].Subtasks[0].Backend.Files[0].SHA256 = "abc" }, "not a hex SHA-256"},
		{"kind", func(m *Metadata) { m.Operators["agg"].Subtasks[0].Backend.Kind = "" }, "no kind"},
		{"conflict", func(m *Metadata) {
			f := m.Operators["agg"].Subtasks[0].Backend.Files[0]
			f.Size++
			m.Operators["agg"].Subtasks[1].Backend.Files = append(m.Operators["agg"].Subtasks[1].Backend.Files, f)
		}, "elsewhere"},
	}
	for _, c := range cases {
		m := meta(3, 128, [][]blob{bs[:1], bs[1:]})
		c.edit(m)
		if _, err := EncodeMetadata(m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}
