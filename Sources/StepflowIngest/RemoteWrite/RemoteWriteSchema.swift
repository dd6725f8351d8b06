/// The message fields of a remote-write 1.0 `WriteRequest` (`Sources/StepflowWireFormats/RemoteWrite/remote_write.proto`),
/// for the census taken before swift-protobuf decodes a request the direct reader did not take; samples are its
/// items.
enum RemoteWriteSchema: WireSchema {
    case request, timeSeries, label, sample, metadata

    var isItem: Bool { self == .sample }

    func field(_ number: UInt64) -> WireField<RemoteWriteSchema> {
        switch (self, number) {
        case (.request, 1): return .message(.timeSeries)
        case (.request, 3): return .message(.metadata)
        case (.timeSeries, 1): return .message(.label)
        case (.timeSeries, 2): return .message(.sample)
        // Exemplars and native histograms are kept as bytes, not decoded.
        case (.timeSeries, 3), (.timeSeries, 4): return .strings
        default: return .scalar
        }
    }
}
