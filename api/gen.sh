#!/bin/sh
# Regenerates the Go code, gRPC stubs, grpc-gateway handlers and OpenAPI
# documents of every api/**/*.proto. Run from anywhere: `go generate ./api`
# (or sh api/gen.sh). Needs protoc (Debian: apt-get install protobuf-compiler);
# the protoc plugins are installed at pinned versions into api/.bin.
#
# HTTP routes are not annotations in the protos (google/api/annotations.proto
# is not vendored): each service's routes are in a grpc_api_configuration
# YAML file next to its proto (NAME.yaml for NAME.proto).
set -eu
cd "$(dirname "$0")"
command -v protoc >/dev/null || { echo "gen.sh: protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
BIN="$(pwd)/.bin"
mkdir -p "$BIN"
install() { [ -x "$BIN/$1" ] || GOBIN="$BIN" go install "$2"; }
install protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
install protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
install protoc-gen-grpc-gateway github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
install protoc-gen-openapiv2 github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.33.0
PATH="$BIN:$PATH"
for proto in $(find . -name '*.proto' -not -path './.bin/*' | sort); do
	dir=$(dirname "$proto")
	yaml="${proto%.proto}.yaml"
	set -- --go_out=paths=source_relative:. --go-grpc_out=paths=source_relative:.
	if [ -f "$yaml" ]; then
		set -- "$@" \
			--grpc-gateway_out=paths=source_relative,grpc_api_configuration="$yaml":. \
			--openapiv2_out=grpc_api_configuration="$yaml",json_names_for_fields=false:.
	fi
	protoc -I . "$@" "$proto"
	echo "generated $dir"
done
