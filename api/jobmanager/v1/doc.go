// Package jobmanagerv1 is the job manager's public API
// (eddy.jobmanager.v1): the protocol buffer messages, the gRPC service
// JobManager and its grpc-gateway REST handlers, generated from
// jobmanager.proto with the HTTP routes of jobmanager.yaml, plus the
// generated OpenAPI document (OpenAPI). Regenerate with `go generate ./api`;
// never edit the generated files. docs/rest.md documents the REST API.
package jobmanagerv1
