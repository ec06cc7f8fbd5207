package jobmanager

import (
	"math/rand/v2"
	"testing"

	tmv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// TestLiveVerticesMerge checks the merge of parts' live reports against a
// reference that walks every (vertex, slot) on random attempts: records of
// ended parts come from the results only, the live ones from reports; the
// watermark is none while a running part holding a subtask of the vertex
// has none, else the minimum (the end when every holder ended); the
// back-pressure is the maximum.
func TestLiveVerticesMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for iter := range 500 {
		nv, slots := 1+rng.IntN(4), 1+rng.IntN(6)
		g := &jobgraph.Graph{}
		for i := range nv {
			g.Vertices = append(g.Vertices, &jobgraph.Vertex{ID: string(rune('a' + i)), Parallelism: 1 + rng.IntN(slots),
				Ops: []*jobgraph.OperatorSpec{{Name: "op"}}})
		}
		records := map[string]*runtime.VertexResult{}
		for _, v := range g.Vertices {
			if rng.IntN(2) == 0 {
				records[v.ID] = &runtime.VertexResult{ID: v.ID, RecordsIn: rng.Int64N(1000), RecordsOut: rng.Int64N(1000)}
			}
		}
		// Deal the slots to parts at random.
		var parts []*remotePart
		for s := range slots {
			if len(parts) == 0 || rng.IntN(2) == 0 {
				parts = append(parts, &remotePart{grant: &slotGrant{}})
			}
			p := parts[rng.IntN(len(parts))]
			p.grant.slots = append(p.grant.slots, int32(s))
		}
		for _, p := range parts {
			p.done = rng.IntN(4) == 0
			if rng.IntN(5) == 0 {
				continue // no report yet
			}
			p.report = &tmv1.PartStatusRequest{}
			for _, v := range g.Vertices {
				if rng.IntN(8) == 0 {
					continue // vertex missing from the report
				}
				vs := &tmv1.VertexStatus{Vertex: v.ID, RecordsIn: rng.Int64N(100), RecordsOut: rng.Int64N(100),
					Backpressure: rng.Float64(), WatermarkState: tmv1.WatermarkState(rng.IntN(3))}
				if vs.WatermarkState == tmv1.WatermarkState_WATERMARK_STATE_SET {
					vs.WatermarkMs = rng.Int64N(50)
				}
				p.report.Vertices = append(p.report.Vertices, vs)
			}
		}
		got := liveVertices(g, records, parts)
		if len(got) != nv {
			t.Fatalf("iter %d: %d vertices, want %d", iter, len(got), nv)
		}
		for i, v := range g.Vertices {
			var in, out int64
			if r := records[v.ID]; r != nil {
				in, out = r.RecordsIn, r.RecordsOut
			}
			bp := 0.0
			wm, none := stream.MaxWatermark, false
			for s := range v.Parallelism { // the part holding subtask s
				var holder *remotePart
				for _, p := range parts {
					for _, ps := range p.grant.slots {
						if int(ps) == s {
							holder = p
						}
					}
				}
				if holder.done {
					continue
				}
				var rep *tmv1.VertexStatus
				if holder.report != nil {
					for _, r := range holder.report.Vertices {
						if r.Vertex == v.ID {
							rep = r
						}
					}
				}
				switch {
				case rep == nil:
					none = true
				case rep.WatermarkState == tmv1.WatermarkState_WATERMARK_STATE_NONE:
					none = true
				case rep.WatermarkState == tmv1.WatermarkState_WATERMARK_STATE_SET && rep.WatermarkMs < wm:
					wm = rep.WatermarkMs
				}
			}
			// Records and back-pressure: once per running part holding
			// a subtask.
			for _, p := range parts {
				holds := false
				for _, ps := range p.grant.slots {
					holds = holds || int(ps) < v.Parallelism
				}
				if !holds || p.done || p.report == nil {
					continue
				}
				for _, r := range p.report.Vertices {
					if r.Vertex == v.ID {
						in += r.RecordsIn
						out += r.RecordsOut
						bp = max(bp, r.Backpressure)
					}
				}
			}
			if none {
				wm = stream.MinWatermark
			}
			g := got[i]
			if g.ID != v.ID || g.Parallelism != v.Parallelism || g.RecordsIn != in || g.RecordsOut != out || g.Watermark != wm || g.Backpressure != bp {
				t.Fatalf("iter %d vertex %s: got %+v, want in %d out %d watermark %d backpressure %v", iter, v.ID, g, in, out, wm, bp)
			}
		}
	}
}
