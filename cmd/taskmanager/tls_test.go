package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/eddy-streaming/eddy/engine/cluster/membership"
)

// pki writes a CA and a certificate it signed for 127.0.0.1 with its key.
func pki(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string]*pem.Block{caFile: {Type: "CERTIFICATE", Bytes: caDER},
		certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// serveTLSRegistry runs a job manager's membership service over TLS.
func serveTLSRegistry(t *testing.T, certFile, keyFile string) (*membership.Registry, string) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := membership.New(membership.Config{HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	reg.Register(srv)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = srv.Serve(lis) }()
	go reg.Run(ctx)
	t.Cleanup(func() { cancel(); srv.Stop() })
	return reg, lis.Addr().String()
}

// TestTLS: with --tls-ca and --tls-cert/--tls-key the task manager joins a
// job manager serving TLS (verifying its certificate) and serves TLS
// itself; without TLS flags it exits 1 saying the job manager serves TLS;
// with only the system roots the test CA is not trusted, so it never
// registers; bad TLS flags are usage errors.
func TestTLS(t *testing.T) {
	caFile, certFile, keyFile := pki(t)
	reg, jm := serveTLSRegistry(t, certFile, keyFile)

	ctx, cancel := context.WithCancel(context.Background())
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--jobmanager", jm, "--id", "tls", "--tls-ca", caFile, "--tls-cert", certFile, "--tls-key", keyFile}, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(reg.TaskManagers()) == 0 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("the TLS task manager did not register:\n%s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	addr := reg.TaskManagers()[0].Address
	// Its own port serves TLS with the certificate, verified by the CA.
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2"}})
	if err != nil {
		t.Errorf("the task manager's port does not serve verified TLS: %v", err)
	} else {
		conn.Close()
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d:\n%s", code, errOut.String())
	}

	var plainOut bytes.Buffer
	pctx, pcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer pcancel()
	if code := run(pctx, []string{"--jobmanager", jm, "--id", "plain"}, &plainOut); code != 1 || !strings.Contains(plainOut.String(), "the job manager serves TLS") {
		t.Errorf("plaintext task manager against TLS: exit %d, want 1 saying why:\n%s", code, plainOut.String())
	}

	// The system roots do not trust the test CA: registration keeps failing
	// with a certificate error.
	var untrusted syncBuffer
	uctx, ucancel := context.WithTimeout(context.Background(), time.Second)
	defer ucancel()
	if code := run(uctx, []string{"--jobmanager", jm, "--id", "untrusted", "--tls-cert", certFile, "--tls-key", keyFile}, &untrusted); code != 0 {
		t.Errorf("exit %d:\n%s", code, untrusted.String())
	}
	if !strings.Contains(untrusted.String(), "certificate") {
		t.Errorf("no certificate error logged:\n%s", untrusted.String())
	}
	for _, tm := range reg.TaskManagers() {
		if tm.ID == "untrusted" || tm.ID == "plain" {
			t.Errorf("%s registered", tm.ID)
		}
	}

	for _, args := range [][]string{
		{"--jobmanager", jm, "--tls-cert", certFile},
		{"--jobmanager", jm, "--tls-key", keyFile},
		{"--jobmanager", jm, "--tls-ca", filepath.Join(t.TempDir(), "missing.pem")},
		{"--jobmanager", jm, "--tls-ca", keyFile},
		{"--jobmanager", jm, "--tls-cert", keyFile, "--tls-key", certFile},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), args, &out); code != 2 || !strings.Contains(out.String(), "--tls-") {
			t.Errorf("%v: exit %d, want 2 naming the flag:\n%s", args, code, out.String())
		}
	}
}
