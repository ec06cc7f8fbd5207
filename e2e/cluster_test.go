package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	tmBuildOnce sync.Once
	tmBinPath   string
	tmBuildErr  error
)

// taskmanagerBin builds cmd/taskmanager once per test binary.
func taskmanagerBin(t testing.TB) string {
	t.Helper()
	tmBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eddy-e2e-tm")
		if err != nil {
			tmBuildErr = err
			return
		}
		tmBinPath = filepath.Join(dir, "taskmanager")
		if out, err := exec.Command("go", "build", "-o", tmBinPath, "../cmd/taskmanager").CombinedOutput(); err != nil {
			tmBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if tmBuildErr != nil {
		t.Fatal(tmBuildErr)
	}
	return tmBinPath
}

// lockedBuffer collects a process's output for reading while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cluster is a job manager process serving REST with remote task managers.
type cluster struct {
	t        testing.TB
	jm       *exec.Cmd
	jmErr    *lockedBuffer
	rest     string
	rpc      string
	tms      []*exec.Cmd
	tmErrs   []*lockedBuffer
	stopOnce sync.Once
}

// startCluster starts `jobmanager serve --local-taskmanagers 0` and one
// task manager per entry of slots, all with a cluster secret, and waits
// until every task manager is registered.
func startCluster(t testing.TB, dir string, slots ...int) *cluster {
	return startClusterAt(t, dir, "127.0.0.1:0", slots...)
}

// startClusterAt is startCluster with the job manager's gRPC address.
func startClusterAt(t testing.TB, dir, rpcAddr string, slots ...int) *cluster {
	t.Helper()
	c := &cluster{t: t}
	t.Cleanup(c.stop)
	c.startJobManager(dir, rpcAddr)
	for i, n := range slots {
		errs := &lockedBuffer{}
		tm := exec.Command(taskmanagerBin(t), "--jobmanager", c.rpc, "--slots", fmt.Sprint(n), "--id", fmt.Sprintf("tm%d", i),
			"--cluster-secret", "s3cret", "--state-dir", filepath.Join(dir, fmt.Sprintf("tm%d-state", i)))
		tm.Stderr = errs
		if err := tm.Start(); err != nil {
			t.Fatal(err)
		}
		c.tms, c.tmErrs = append(c.tms, tm), append(c.tmErrs, errs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var l struct {
			Taskmanagers []struct {
				ID string `json:"id"`
			} `json:"taskmanagers"`
		}
		c.get("/v1/taskmanagers", &l)
		if len(l.Taskmanagers) == len(slots) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d task managers registered:\n%s", len(l.Taskmanagers), len(slots), c.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startJobManager starts the job manager process (again, after a kill:
// the same directory and gRPC address, so the task managers find it).
// extra are more flags (TLS).
func (c *cluster) startJobManager(dir, rpcAddr string, extra ...string) {
	t := c.t
	t.Helper()
	c.jmErr = &lockedBuffer{}
	args := append([]string{"serve", "--checkpoint-dir", filepath.Join(dir, "jm"),
		"--rest-addr", "127.0.0.1:0", "--rpc-addr", rpcAddr, "--local-taskmanagers", "0", "--cluster-secret", "s3cret"}, extra...)
	c.jm = exec.Command(jobmanagerBin(t), args...)
	c.jm.Env = append(os.Environ(), "TMPDIR="+dir)
	stdout, err := c.jm.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.jm.Stderr = c.jmErr
	if err := c.jm.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no address line: %v\n%s", err, c.jmErr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	m := regexp.MustCompile(`REST on (https?://\S+), gRPC on (\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("address line %q", line)
	}
	c.rest, c.rpc = m[1], m[2]
}

func (c *cluster) logs() string {
	var b strings.Builder
	b.WriteString("jobmanager:\n" + tail(c.jmErr.String(), 40))
	for i, e := range c.tmErrs {
		fmt.Fprintf(&b, "\ntaskmanager %d:\n%s", i, tail(e.String(), 15))
	}
	return b.String()
}

func (c *cluster) stop() {
	c.stopOnce.Do(func() {
		for _, tm := range c.tms {
			_ = tm.Process.Signal(syscall.SIGTERM)
		}
		if c.jm != nil {
			_ = c.jm.Process.Signal(os.Interrupt)
		}
		for _, tm := range c.tms {
			_ = tm.Wait()
		}
		if c.jm != nil {
			_ = c.jm.Wait()
		}
	})
}

func (c *cluster) get(path string, v any) {
	c.t.Helper()
	resp, err := http.Get(c.rest + path)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// submit posts a job and returns its id.
func (c *cluster) submit(req map[string]any) string {
	c.t.Helper()
	body, _ := json.Marshal(req)
	resp, err := http.Post(c.rest+"/v1/jobs", "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.ID == "" {
		c.t.Fatalf("POST /v1/jobs: %d %s", resp.StatusCode, b)
	}
	return out.ID
}

// clusterJob is the part of GET /v1/jobs/{id} the tests read.
type clusterJob struct {
	State          string `json:"state"`
	Restarts       int    `json:"restarts"`
	Message        string `json:"message"`
	LastCheckpoint *struct {
		ID float64 `json:"id"`
	} `json:"last_checkpoint"`
	Failures []struct {
		Message string `json:"message"`
	} `json:"failures"`
	Vertices []struct {
		ID        string  `json:"id"`
		RecordsIn float64 `json:"records_in"`
		Watermark string  `json:"watermark"`
	} `json:"vertices"`
}

func (c *cluster) job(id string) clusterJob {
	var j clusterJob
	c.get("/v1/jobs/"+id, &j)
	return j
}

// waitCheckpoint waits until job id has completed a checkpoint while
// running.
func (c *cluster) waitCheckpoint(id string) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		j := c.job(id)
		if j.LastCheckpoint != nil && j.LastCheckpoint.ID >= 1 {
			return
		}
		if j.State != "RUNNING" && j.State != "CREATED" || time.Now().After(deadline) {
			c.t.Fatalf("no checkpoint while running: %+v\n%s", j, c.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFinished waits (3 minutes from since at most) until job id ends,
// and fails unless it FINISHED.
func (c *cluster) waitFinished(id string, since time.Time) clusterJob {
	c.t.Helper()
	for {
		j := c.job(id)
		switch j.State {
		case "FINISHED":
			return j
		case "FAILED", "CANCELED":
			c.t.Fatalf("job ended %s: %+v\n%s", j.State, j, c.logs())
		}
		if time.Since(since) > 3*time.Minute {
			c.t.Fatalf("the job did not end: %+v\n%s", j, c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterTaskManagerKilled is issue 6's acceptance test: a job manager
// and three task manager processes (two slots each) on loopback, the
// flagship Top-N submitted over REST at parallelism 3 with 300 ms
// checkpoints (its parts spread over the three task managers, so its hash
// exchanges cross processes), and one task manager SIGKILLed after the
// first completed checkpoint. The loss is detected, the job restarts from
// its latest checkpoint on the remaining slots and finishes; its committed
// output equals the reference exactly, with nothing lost or doubled.
func TestClusterTaskManagerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	dir := t.TempDir()
	c := startCluster(t, dir, 2, 2, 2)
	fc := flagshipCase()
	tables := fc.tables(60_000, 15_000, 61)
	want := fc.want(t, tables)
	out := filepath.Join(dir, "out")
	id := c.submit(map[string]any{"sql": fc.script(tables, out), "name": "flagship", "parallelism": 3, "checkpoint_interval": "300ms"})

	c.waitCheckpoint(id)
	// The task managers report their parts' live status: while the job
	// runs, every vertex shows the records it has taken in.
	deadline := time.Now().Add(time.Minute)
	for {
		j := c.job(id)
		live := len(j.Vertices) > 0
		for _, v := range j.Vertices {
			live = live && v.RecordsIn > 0
		}
		if j.State == "RUNNING" && live {
			t.Logf("live while RUNNING: %+v", j.Vertices)
			break
		}
		if j.State != "RUNNING" || time.Now().After(deadline) {
			t.Fatalf("no live records_in on every vertex while running: %+v\n%s", j, c.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.tms[0].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	j := c.waitFinished(id, killed)
	if j.Restarts < 1 || len(j.Failures) == 0 {
		t.Fatalf("the kill caused no restart: %+v\n%s", j, c.logs())
	}
	t.Logf("finished %s after the kill, %d restart(s); first failure: %s", time.Since(killed).Round(time.Millisecond), j.Restarts, j.Failures[0].Message)
	assertSameRows(t, fc.output(t, out), want)
	checkNoHidden(t, out)
}

// TestClusterJobManagerKilled: the job manager process is SIGKILLed while
// the flagship runs on three task manager processes; a new one started on
// the same directory and gRPC address resumes the job from its latest
// checkpoint once the task managers have registered again (cancelling the
// old attempt's parts first), and the committed output equals the
// reference exactly.
func TestClusterJobManagerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	dir := t.TempDir()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rpc := lis.Addr().String()
	lis.Close()
	c := startClusterAt(t, dir, rpc, 2, 2, 2)
	fc := flagshipCase()
	tables := fc.tables(60_000, 15_000, 62)
	want := fc.want(t, tables)
	out := filepath.Join(dir, "out")
	id := c.submit(map[string]any{"sql": fc.script(tables, out), "name": "flagship", "parallelism": 3, "checkpoint_interval": "300ms"})
	c.waitCheckpoint(id)
	if err := c.jm.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.jm.Wait()
	killed := time.Now()
	c.startJobManager(dir, rpc)
	c.waitFinished(id, killed)
	t.Logf("finished %s after the job manager was killed", time.Since(killed).Round(time.Millisecond))
	assertSameRows(t, fc.output(t, out), want)
	checkNoHidden(t, out)
}
