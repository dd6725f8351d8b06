#!/usr/bin/env bash
# Regenerates Sources/StepflowWireFormats/RemoteWrite/RemoteWrite.pb.swift from remote_write.proto. Run it after editing
# the .proto; the generated file is committed, so a normal build needs neither protoc nor swift-protobuf's plugin
# (whose build takes ~10 minutes). Needs `protoc` (apt-get install protobuf-compiler) and protoc-gen-swift 1.39.0
# on PATH or in $PROTOC_GEN_SWIFT (swift build -c release --product protoc-gen-swift in a swift-protobuf checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
[ -x "$plugin" ] || { echo "generate-protobuf: no protoc-gen-swift (set PROTOC_GEN_SWIFT)" >&2; exit 1; }
dir=Sources/StepflowWireFormats/RemoteWrite
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Package --swift_out="$dir" -I "$dir" "$dir/remote_write.proto"
mv "$dir/remote_write.pb.swift" "$dir/RemoteWrite.pb.swift"
echo "generate-protobuf: wrote $dir/RemoteWrite.pb.swift" >&2
