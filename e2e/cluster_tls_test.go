package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testPKI writes a CA certificate and a server certificate it signed for
// 127.0.0.1 (an IP SAN, as gRPC verifies the dialed address) with its
// key, and returns the three files.
func testPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "eddy test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(2 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "eddy test node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(2 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "node.pem"), filepath.Join(dir, "node-key.pem")
	for f, b := range map[string]*pem.Block{
		caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kb},
	} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// tlsCluster is a job manager process serving TLS, with task managers
// serving TLS, and an HTTPS client trusting the test CA.
type tlsCluster struct {
	*cluster
	client *http.Client
}

// startTLSCluster starts `jobmanager serve --local-taskmanagers 0` with
// --tls-cert/--tls-key/--tls-ca and one task manager per entry of slots
// with the same TLS flags, and waits until they are all registered.
func startTLSCluster(t *testing.T, dir, caFile, certFile, keyFile string, slots ...int) *tlsCluster {
	t.Helper()
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate")
	}
	c := &tlsCluster{cluster: &cluster{t: t}, client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
	t.Cleanup(c.stop)
	c.startJobManager(dir, "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", caFile)
	for i, n := range slots {
		errs := &lockedBuffer{}
		tm := exec.Command(taskmanagerBin(t), "--jobmanager", c.rpc, "--slots", fmt.Sprint(n), "--id", fmt.Sprintf("tm%d", i),
			"--cluster-secret", "s3cret", "--state-dir", filepath.Join(dir, fmt.Sprintf("tm%d-state", i)),
			"--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", caFile)
		tm.Stderr = errs
		if err := tm.Start(); err != nil {
			t.Fatal(err)
		}
		c.tms, c.tmErrs = append(c.tms, tm), append(c.tmErrs, errs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.registered() != len(slots) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d task managers registered:\n%s", c.registered(), len(slots), c.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func (c *tlsCluster) registered() int {
	var l struct {
		Taskmanagers []struct {
			ID string `json:"id"`
		} `json:"taskmanagers"`
	}
	c.get("/v1/taskmanagers", &l)
	return len(l.Taskmanagers)
}

func (c *tlsCluster) get(path string, v any) {
	c.t.Helper()
	resp, err := c.client.Get(c.rest + path)
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

func (c *tlsCluster) submit(req map[string]any) string {
	c.t.Helper()
	body, _ := json.Marshal(req)
	resp, err := c.client.Post(c.rest+"/v1/jobs", "application/json", bytes.NewReader(body))
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

// TestClusterTLS runs a cluster whose every gRPC link is TLS: the job
// manager serves REST and gRPC with a certificate signed by a test CA and
// verifies the task managers with it; two task manager processes (one
// slot each) serve TLS and verify the job manager and each other. The
// flagship Top-N, submitted over HTTPS at parallelism 2 with checkpoints,
// runs with a part on each task manager, so its hash exchanges, its
// deployments and its acknowledgements all cross TLS links; its committed
// output equals the reference. A task manager started without TLS flags
// cannot join and exits 1 saying the job manager serves TLS; plain HTTP
// to the REST port is refused.
func TestClusterTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	dir := t.TempDir()
	caFile, certFile, keyFile := testPKI(t, dir)
	c := startTLSCluster(t, dir, caFile, certFile, keyFile, 1, 1)

	fc := flagshipCase()
	tables := fc.tables(30_000, 20_000, 64)
	want := fc.want(t, tables)
	out := filepath.Join(dir, "out")
	id := c.submit(map[string]any{"sql": fc.script(tables, out), "name": "flagship-tls", "parallelism": 2, "checkpoint_interval": "200ms"})
	var j clusterJob
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c.get("/v1/jobs/"+id, &j)
		if j.State == "FINISHED" || j.State == "FAILED" || j.State == "CANCELED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not end: %+v\n%s", j, c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if j.State != "FINISHED" || j.Restarts != 0 {
		t.Fatalf("job ended %s after %d restarts: %+v\n%s", j.State, j.Restarts, j, c.logs())
	}
	if j.LastCheckpoint == nil {
		t.Errorf("no checkpoint completed over TLS: %+v\n%s", j, c.logs())
	}
	assertSameRows(t, fc.output(t, out), want)
	checkNoHidden(t, out)

	if resp, err := http.Get(strings.Replace(c.rest, "https://", "http://", 1) + "/healthz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP to the TLS REST port answered 200: %s", b)
		}
	}

	// A task manager without TLS flags cannot join: it exits 1 and says why.
	var stderr lockedBuffer
	plain := exec.Command(taskmanagerBin(t), "--jobmanager", c.rpc, "--slots", "1", "--id", "plain", "--cluster-secret", "s3cret",
		"--state-dir", filepath.Join(dir, "plain-state"))
	plain.Stderr = &stderr
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- plain.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("plaintext task manager: %v, want exit status 1\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = plain.Process.Signal(syscall.SIGKILL)
		<-exited
		t.Fatalf("a plaintext task manager kept running against a TLS job manager:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "the job manager serves TLS") || !strings.Contains(stderr.String(), "--tls-ca") {
		t.Errorf("the plaintext task manager does not say why it cannot join:\n%s", stderr.String())
	}
	t.Logf("plaintext task manager said:\n%s", stderr.String())
	if n := c.registered(); n != 2 {
		t.Errorf("%d task managers registered, want the 2 TLS ones", n)
	}
}
