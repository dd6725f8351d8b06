#!/usr/bin/env bash
# Regenerates the committed .pb.swift files of StepflowWireFormats from their .proto files: remote write
# (RemoteWrite/remote_write.proto) and OTLP (OTLP/proto/, opentelemetry-proto v1.9.0: common, resource, trace,
# logs, metrics and the three collector services' request and response messages, plus the two fields of
# google.rpc.Status its errors are answered with). Run it after editing a .proto;
# the generated files are committed, so a normal build needs neither protoc nor swift-protobuf's plugin (whose
# build takes minutes). Needs `protoc` (apt-get install protobuf-compiler) and protoc-gen-swift 1.39.0 on PATH or
# in $PROTOC_GEN_SWIFT (swift build --product protoc-gen-swift in a swift-protobuf checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
[ -x "$plugin" ] || { echo "generate-protobuf: no protoc-gen-swift (set PROTOC_GEN_SWIFT)" >&2; exit 1; }
dir=Sources/StepflowWireFormats/RemoteWrite
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Package --swift_out="$dir" -I "$dir" "$dir/remote_write.proto"
mv "$dir/remote_write.pb.swift" "$dir/RemoteWrite.pb.swift"
echo "generate-protobuf: wrote $dir/RemoteWrite.pb.swift" >&2
otlp=Sources/StepflowWireFormats/OTLP
protos=$(cd "$otlp/proto" && find opentelemetry google -name '*.proto' | sort)
(cd "$otlp/proto" && protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Package \
    --swift_opt=FileNaming=PathToUnderscores --swift_out=.. -I . $protos)
echo "generate-protobuf: wrote $(ls "$otlp"/*.pb.swift | wc -l) OTLP files in $otlp" >&2
