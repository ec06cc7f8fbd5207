// Package api holds Eddy's protocol buffers and the code generated from
// them (committed): the job manager's public API (jobmanager/v1, served
// over gRPC and, through grpc-gateway, as REST with an OpenAPI document)
// and the cluster's internal RPCs. Regenerate with `go generate ./api`
// (see gen.sh; needs protoc).
package api

//go:generate sh gen.sh
