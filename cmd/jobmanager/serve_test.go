package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/datagen"
	"github.com/eddy-streaming/eddy/engine/cluster/jobmanager"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/examples/nexmark"
)

// jm is a job manager serving on loopback for a test.
type jm struct {
	t     *testing.T
	dir   string
	token string
	svc   *jobmanager.Service
	srv   *jobmanager.Server
	base  string
}

// startJM starts a job manager on dir with 2 local task managers of 2
// slots, on free loopback ports.
func startJM(t *testing.T, dir, token string) *jm {
	t.Helper()
	reg := prometheus.NewRegistry()
	conns, funcs := builtin.Registry(), nexmark.Functions()
	runner, err := jobmanager.NewLocalRunner(jobmanager.LocalConfig{
		TaskManagers: 2, Slots: 2, Connectors: conns, Functions: funcs, Registerer: reg,
		RestartStrategy: runtime.RestartStrategy{MaxAttempts: 2, InitialDelay: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := jobmanager.NewService(ctx, jobmanager.ServiceConfig{Dir: dir, Compiler: sqlCompiler{reg: conns, funcs: funcs}, Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := jobmanager.Start(ctx, svc, jobmanager.ServerConfig{RESTAddr: "127.0.0.1:0", RPCAddr: "127.0.0.1:0", Token: token, Gatherer: reg})
	if err != nil {
		svc.Close()
		t.Fatal(err)
	}
	j := &jm{t: t, dir: dir, token: token, svc: svc, srv: srv, base: "http://" + srv.RESTAddr()}
	t.Cleanup(j.stop)
	return j
}

// stop shuts the job manager down (idempotent); its running jobs stay
// recorded as running.
func (j *jm) stop() {
	if j.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.srv.Shutdown(ctx); err != nil {
		j.t.Errorf("shutdown: %v", err)
	}
	j.svc.Close()
	j.srv = nil
}

// call sends a request with the job manager's token and returns the
// status and the body.
func (j *jm) call(method, path, body string) (int, []byte) {
	return j.callToken(method, path, body, j.token)
}

func (j *jm) callToken(method, path, body, token string) (int, []byte) {
	j.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, j.base+path, r)
	if err != nil {
		j.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		j.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		j.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// callJSON calls and decodes the JSON body, failing unless the status is
// want.
func (j *jm) callJSON(method, path, body string, want int) map[string]any {
	j.t.Helper()
	code, b := j.call(method, path, body)
	if code != want {
		j.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		j.t.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return m
}

// submit submits a job and returns its ID.
func (j *jm) submit(req map[string]any) string {
	j.t.Helper()
	b, _ := json.Marshal(req)
	m := j.callJSON("POST", "/v1/jobs", string(b), 200)
	id, _ := m["id"].(string)
	if id == "" {
		j.t.Fatalf("submit: no id in %v", m)
	}
	return id
}

// waitState polls the job until its state is one of want.
func (j *jm) waitState(id string, want ...string) map[string]any {
	j.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := j.callJSON("GET", "/v1/jobs/"+id, "", 200)
		if slices.Contains(want, m["state"].(string)) {
			return m
		}
		if s := m["state"].(string); s == "FAILED" && !slices.Contains(want, "FAILED") || time.Now().After(deadline) {
			j.t.Fatalf("job %s is %s, want %v: %v", id, s, want, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gift is one generated row the tests' job reads.
type gift struct{ room, user, amount int64 }

// giftsWith returns the datagen options of the tests' gifts table.
func giftsWith(rows, rps, seed int) map[string]string {
	o := map[string]string{
		"connector": "datagen", "stream": "gifts", "number-of-rows": fmt.Sprint(rows), "rooms": "5",
		"users": "300", "seed": fmt.Sprint(seed),
	}
	if rps > 0 {
		o["rows-per-second"] = fmt.Sprint(rps)
	}
	return o
}

// jobSQL is the tests' job: the gifts over 50 into a csv directory.
func jobSQL(opts map[string]string, out string) string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var with []string
	for _, k := range keys {
		with = append(with, fmt.Sprintf("'%s' = '%s'", k, opts[k]))
	}
	return fmt.Sprintf(`CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3)
) WITH (%s);
CREATE TABLE big (room_id BIGINT, user_id BIGINT, amount BIGINT)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
INSERT INTO big SELECT room_id, user_id, amount FROM gifts WHERE amount > 50;
`, strings.Join(with, ", "), out)
}

// reference reads the generator's rows through the connector, one reader
// and no throttle, and applies the job's filter row by row.
func reference(t *testing.T, opts map[string]string) []string {
	t.Helper()
	o := map[string]string{}
	for k, v := range opts {
		if k != "rows-per-second" {
			o[k] = v
		}
	}
	schema := types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType}, {Name: "user_id", Type: types.BigIntType},
		{Name: "gift_id", Type: types.IntType}, {Name: "quantity", Type: types.IntType},
		{Name: "amount", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType},
	}}
	src, err := datagen.New().NewSource(connectors.TableInfo{Name: "gifts", Schema: schema, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rd, err := src.Reader(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 777, Alloc: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []string
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			continue
		}
		rooms, users, amounts := rec.Column(0).(*array.Int64), rec.Column(1).(*array.Int64), rec.Column(4).(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			if amounts.IsNull(i) || amounts.Value(i) <= 50 {
				continue
			}
			out = append(out, fmt.Sprintf("%s|%s|%d", nullable(rooms, i), nullable(users, i), amounts.Value(i)))
		}
		rec.Release()
	}
	sort.Strings(out)
	return out
}

func nullable(a *array.Int64, i int) string {
	if a.IsNull(i) {
		return ""
	}
	return fmt.Sprint(a.Value(i))
}

// readOutput reads the committed (visible) csv files of the sink directory.
func readOutput(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("sink directory: %v", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, r := range recs {
			out = append(out, strings.Join(r, "|"))
		}
	}
	sort.Strings(out)
	return out
}

// sameRows fails the test unless got equals want as multisets.
func sameRows(t *testing.T, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("empty reference")
	}
	if !slices.Equal(got, want) {
		missing, extra := diff(want, got), diff(got, want)
		t.Fatalf("output has %d rows, reference %d; missing %d (e.g. %v), extra %d (e.g. %v)",
			len(got), len(want), len(missing), head(missing), len(extra), head(extra))
	}
}

// diff returns a minus b, as multisets of sorted slices.
func diff(a, b []string) []string {
	var out []string
	i, k := 0, 0
	for i < len(a) {
		switch {
		case k >= len(b) || a[i] < b[k]:
			out = append(out, a[i])
			i++
		case a[i] == b[k]:
			i++
			k++
		default:
			k++
		}
	}
	return out
}

func head(s []string) []string { return s[:min(3, len(s))] }

// TestRESTJobFinishes submits a bounded job at parallelism 2 over REST,
// polls it to FINISHED and checks its committed output against the
// reference, its vertices' counters and its checkpoints.
func TestRESTJobFinishes(t *testing.T) {
	j := startJM(t, t.TempDir(), "")
	out := t.TempDir()
	opts := giftsWith(3000, 0, 7)
	want := reference(t, opts)
	id := j.submit(map[string]any{"sql": jobSQL(opts, out), "name": "big-gifts", "parallelism": 2, "checkpoint_interval": "50ms"})
	m := j.waitState(id, "FINISHED")
	sameRows(t, readOutput(t, out), want)
	if m["name"] != "big-gifts" || m["parallelism"] != 2.0 || m["checkpoint_interval"] != "50ms" || m["ended_at"] == "" || m["started_at"] == "" {
		t.Errorf("job: %v", m)
	}
	vs := m["vertices"].([]any)
	var in, sunk float64
	for _, v := range vs {
		vm := v.(map[string]any)
		if strings.HasPrefix(vm["name"].(string), "Source:") {
			in += vm["records_in"].(float64)
		}
		if strings.Contains(vm["name"].(string), "Sink:") {
			sunk += vm["records_out"].(float64)
		}
		if vm["watermark"] != "END" || vm["parallelism"] != 2.0 {
			t.Errorf("vertex %v", vm)
		}
	}
	if in != 3000 || sunk != float64(len(want)) {
		t.Errorf("vertices read %v rows and wrote %v, want 3000 and %d: %v", in, sunk, len(want), vs)
	}
	code, metrics := j.call("GET", "/metrics", "")
	if code != 200 || !bytes.Contains(metrics, []byte(`job_id="`+id+`"`)) || !bytes.Contains(metrics, []byte("eddy_records_in_total")) {
		t.Errorf("metrics: %d, no records_in of job %s:\n%.500s", code, id, metrics)
	}
	l := j.callJSON("GET", "/v1/jobs", "", 200)
	if js := l["jobs"].([]any); len(js) != 1 || js[0].(map[string]any)["id"] != id {
		t.Errorf("list: %v", l)
	}
	// A finished job takes no savepoint and cannot be stopped or canceled.
	for _, path := range []string{"/v1/jobs/" + id + "/savepoints", "/v1/jobs/" + id + ":stop", "/v1/jobs/" + id + ":cancel"} {
		e := j.callJSON("POST", path, "", 409)
		if msg := e["message"].(string); !strings.Contains(msg, "FINISHED") {
			t.Errorf("POST %s: message %q does not say the job is FINISHED", path, msg)
		}
	}
}

// TestRESTErrors checks the bad requests of every route.
func TestRESTErrors(t *testing.T) {
	j := startJM(t, t.TempDir(), "")
	// An unknown function on the last line: the error points at it.
	prefix := jobSQL(giftsWith(10, 0, 1), t.TempDir())
	line := strings.Count(prefix, "\n") + 1
	bad := prefix + "INSERT INTO big SELECT room_id, foo(user_id), amount FROM gifts;\n"
	col := strings.Index("INSERT INTO big SELECT room_id, foo(user_id), amount FROM gifts;", "foo") + 1
	for _, path := range []string{"/v1/jobs", "/v1/sql:validate", "/v1/sql:explain"} {
		b, _ := json.Marshal(map[string]any{"sql": bad})
		e := j.callJSON("POST", path, string(b), 400)
		msg, _ := e["message"].(string)
		pos := fmt.Sprintf("job.sql:%d:%d: ", line, col)
		if e["line"] != float64(line) || e["column"] != float64(col) || !strings.HasPrefix(msg, pos) || !strings.Contains(msg, "foo") || e["code"] != 3.0 {
			t.Errorf("POST %s with bad SQL: %v, want line %d column %d", path, e, line, col)
		}
		e = j.callJSON("POST", path, `{"sql": `, 400)
		if e["code"] != 3.0 || e["message"] == "" {
			t.Errorf("POST %s with malformed JSON: %v", path, e)
		}
		e = j.callJSON("POST", path, `{"sql": "SELECT 1", "nope": 1}`, 400)
		if !strings.Contains(e["message"].(string), "nope") {
			t.Errorf("POST %s with an unknown field: %v", path, e)
		}
		e = j.callJSON("POST", path, `{"sql": "  "}`, 400)
		if !strings.Contains(e["message"].(string), "sql is empty") {
			t.Errorf("POST %s without SQL: %v", path, e)
		}
	}
	good := jobSQL(giftsWith(10, 0, 1), t.TempDir())
	for _, req := range []map[string]any{
		{"sql": good, "parallelism": -1},
		{"sql": good, "parallelism": 5}, // 4 slots
		{"sql": good, "checkpoint_interval": "fast"},
		{"sql": good, "from_savepoint": filepath.Join(t.TempDir(), "missing")},
	} {
		b, _ := json.Marshal(req)
		e := j.callJSON("POST", "/v1/jobs", string(b), 400)
		if e["message"] == "" {
			t.Errorf("submit %v: %v", req, e)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/jobs/0123456789abcdef"}, {"POST", "/v1/jobs/0123456789abcdef:cancel"},
		{"POST", "/v1/jobs/0123456789abcdef:stop"}, {"POST", "/v1/jobs/0123456789abcdef/savepoints"},
		{"GET", "/v1/jobs/0123456789abcdef/checkpoints"}, {"GET", "/v1/jobs/..%2F..%2Fetc"},
	} {
		e := j.callJSON(c.method, c.path, "", 404)
		if !strings.Contains(strings.ToLower(e["message"].(string)), "not found") {
			t.Errorf("%s %s: %v", c.method, c.path, e)
		}
	}
	if code, _ := j.call("GET", "/v1/nothing", ""); code != 404 {
		t.Errorf("unknown route: %d", code)
	}
	v := j.callJSON("POST", "/v1/sql:validate", mustJSON(map[string]any{"sql": good}), 200)
	if v["valid"] != true || v["statements"] != 3.0 {
		t.Errorf("validate: %v", v)
	}
	x := j.callJSON("POST", "/v1/sql:explain", mustJSON(map[string]any{"sql": good, "parallelism": 3}), 200)
	if p := x["plan"].(string); !strings.Contains(p, "== Physical DAG") || !strings.Contains(p, "parallelism") {
		t.Errorf("explain: %v", x)
	}
	tms := j.callJSON("GET", "/v1/taskmanagers", "", 200)["taskmanagers"].([]any)
	if len(tms) != 2 || tms[0].(map[string]any)["slots"] != 2.0 || tms[0].(map[string]any)["free_slots"] != 2.0 {
		t.Errorf("taskmanagers: %v", tms)
	}
	code, b := j.call("GET", "/v1/openapi.json", "")
	if code != 200 || !bytes.Contains(b, []byte(`"/v1/jobs/{id}:cancel"`)) {
		t.Errorf("openapi: %d %.200s", code, b)
	}
	if code, b := j.call("GET", "/healthz", ""); code != 200 || string(b) != "ok" {
		t.Errorf("healthz: %d %q", code, b)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestRESTAuth: with a token every route but /healthz needs it.
func TestRESTAuth(t *testing.T) {
	j := startJM(t, t.TempDir(), "s3cret")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/jobs", ""}, {"POST", "/v1/jobs", `{"sql": "x"}`}, {"GET", "/v1/taskmanagers", ""},
		{"POST", "/v1/sql:validate", `{"sql": "x"}`}, {"GET", "/metrics", ""}, {"GET", "/v1/openapi.json", ""},
		{"GET", "/v1/jobs/0123456789abcdef", ""},
	} {
		for _, tok := range []string{"", "wrong"} {
			code, b := j.callToken(c.method, c.path, c.body, tok)
			if code != 401 || !bytes.Contains(b, []byte("bearer token")) {
				t.Errorf("%s %s with token %q: %d %s", c.method, c.path, tok, code, b)
			}
		}
	}
	if code, _ := j.callToken("GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz without a token: %d", code)
	}
	if code, b := j.call("GET", "/v1/jobs", ""); code != 200 {
		t.Errorf("with the token: %d %s", code, b)
	}
	if code, _ := j.call("GET", "/metrics", ""); code != 200 {
		t.Errorf("metrics with the token: %d", code)
	}
}

// TestRESTSavepointStopResume runs a throttled job, takes a savepoint,
// lists it, stops the job with a savepoint, and resumes a new job from it:
// the two runs' committed output together equals the reference exactly.
func TestRESTSavepointStopResume(t *testing.T) {
	j := startJM(t, t.TempDir(), "")
	out := t.TempDir()
	opts := giftsWith(6000, 2000, 11)
	want := reference(t, opts)
	sql := jobSQL(opts, out)
	id := j.submit(map[string]any{"sql": sql, "parallelism": 2, "checkpoint_interval": "100ms"})
	j.waitState(id, "RUNNING")
	sp := j.callJSON("POST", "/v1/jobs/"+id+"/savepoints", "", 200)["savepoint_path"].(string)
	if !strings.Contains(filepath.Base(sp), "savepoint-") {
		t.Fatalf("savepoint path %q", sp)
	}
	cks := j.callJSON("GET", "/v1/jobs/"+id+"/checkpoints", "", 200)["checkpoints"].([]any)
	found := false
	for i, c := range cks {
		cm := c.(map[string]any)
		if cm["path"] == sp && cm["savepoint"] == true {
			found = true
		}
		if i > 0 && cm["id"].(float64) >= cks[i-1].(map[string]any)["id"].(float64) {
			t.Errorf("checkpoints not newest first: %v", cks)
		}
	}
	if !found {
		t.Fatalf("savepoint %s not listed: %v", sp, cks)
	}
	m := j.callJSON("GET", "/v1/jobs/"+id, "", 200)
	if m["state"] != "RUNNING" || m["last_checkpoint"] == nil {
		t.Errorf("running job: %v", m)
	}
	stop := j.callJSON("POST", "/v1/jobs/"+id+":stop", "", 200)["savepoint_path"].(string)
	m = j.callJSON("GET", "/v1/jobs/"+id, "", 200)
	if m["state"] != "CANCELED" || m["savepoint_path"] != stop {
		t.Fatalf("stopped job: %v", m)
	}
	if got := readOutput(t, out); len(got) >= len(want) {
		t.Fatalf("the job was not stopped midway: %d of %d rows", len(got), len(want))
	}
	e := j.callJSON("POST", "/v1/jobs/"+id+":stop", "", 409)
	if !strings.Contains(e["message"].(string), "CANCELED") {
		t.Errorf("stop of a stopped job: %v", e)
	}
	id2 := j.submit(map[string]any{"sql": sql, "parallelism": 3, "from_savepoint": stop})
	m = j.waitState(id2, "FINISHED")
	if m["from_savepoint"] != stop {
		t.Errorf("resumed job: %v", m)
	}
	sameRows(t, readOutput(t, out), want)
}

// TestRESTCancel cancels a running job.
func TestRESTCancel(t *testing.T) {
	j := startJM(t, t.TempDir(), "")
	id := j.submit(map[string]any{"sql": jobSQL(giftsWith(100000, 500, 3), t.TempDir()), "parallelism": 1})
	j.waitState(id, "RUNNING")
	m := j.callJSON("POST", "/v1/jobs/"+id+":cancel", "", 200)
	if m["state"] != "CANCELED" || m["ended_at"] == "" {
		t.Fatalf("canceled job: %v", m)
	}
	tms := j.callJSON("GET", "/v1/taskmanagers", "", 200)["taskmanagers"].([]any)
	for _, tm := range tms {
		if tm.(map[string]any)["free_slots"] != 2.0 {
			t.Errorf("slots not released: %v", tms)
		}
	}
}

// TestJobManagerRestart stops the job manager while a job runs with
// checkpoints and starts a new one on the same directory: the job is
// listed, resumes from its latest checkpoint and finishes with exactly
// the reference output.
func TestJobManagerRestart(t *testing.T) {
	dir := t.TempDir()
	j := startJM(t, dir, "")
	out := t.TempDir()
	opts := giftsWith(6000, 2000, 5)
	want := reference(t, opts)
	id := j.submit(map[string]any{"sql": jobSQL(opts, out), "name": "survivor", "parallelism": 2, "checkpoint_interval": "100ms"})
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := j.callJSON("GET", "/v1/jobs/"+id, "", 200)
		if m["state"] != "RUNNING" {
			t.Fatalf("job: %v", m)
		}
		if lc, ok := m["last_checkpoint"].(map[string]any); ok && lc["id"].(float64) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint")
		}
		time.Sleep(20 * time.Millisecond)
	}
	j.stop()
	if got := readOutput(t, out); len(got) >= len(want) {
		t.Fatalf("the job was not interrupted midway: %d of %d rows", len(got), len(want))
	}
	j2 := startJM(t, dir, "")
	l := j2.callJSON("GET", "/v1/jobs", "", 200)["jobs"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["id"] != id || l[0].(map[string]any)["name"] != "survivor" {
		t.Fatalf("jobs after restart: %v", l)
	}
	j2.waitState(id, "FINISHED")
	sameRows(t, readOutput(t, out), want)
}

// TestServeProcess builds the command, runs `jobmanager serve` as a
// process with a token, and submits a job over REST.
func TestServeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "jobmanager")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b) // other packages under construction can break it
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--checkpoint-dir", t.TempDir(), "--rest-addr", "127.0.0.1:0",
		"--rpc-addr", "127.0.0.1:0", "--local-taskmanagers", "2", "--slots", "2")
	cmd.Env = append(os.Environ(), "EDDY_TOKEN=tok")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no address line: %v\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	mt := regexp.MustCompile(`REST on (http://\S+),`).FindStringSubmatch(line)
	if mt == nil {
		t.Fatalf("address line %q", line)
	}
	j := &jm{t: t, base: mt[1], token: "tok"}
	if code, b := j.callToken("GET", "/healthz", "", ""); code != 200 || string(b) != "ok" {
		t.Fatalf("healthz: %d %q", code, b)
	}
	if code, _ := j.callToken("GET", "/v1/jobs", "", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	out := t.TempDir()
	opts := giftsWith(2000, 0, 2)
	id := j.submit(map[string]any{"sql": jobSQL(opts, out), "parallelism": 2})
	j.waitState(id, "FINISHED")
	sameRows(t, readOutput(t, out), reference(t, opts))
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "job ended") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// TestRESTJobFails: a job whose sink cannot write fails, restarts under
// the restart strategy (2 attempts) and ends FAILED with every failure.
func TestRESTJobFails(t *testing.T) {
	j := startJM(t, t.TempDir(), "")
	file := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := j.submit(map[string]any{"sql": jobSQL(giftsWith(100, 0, 1), file), "checkpoint_interval": "1s"})
	m := j.waitState(id, "FAILED")
	fs := m["failures"].([]any)
	if len(fs) != 3 || m["restarts"] != 2.0 || m["ended_at"] == "" || m["message"] == "" {
		t.Fatalf("failed job: %v", m)
	}
	for _, f := range fs {
		if msg := f.(map[string]any)["message"].(string); !strings.Contains(msg, "not-a-directory") {
			t.Errorf("failure %q does not name the sink's path", msg)
		}
	}
}
