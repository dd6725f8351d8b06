import Foundation

/// Reads the shared libraries an ELF shared object names as `DT_NEEDED`, from the file, without loading it.
///
/// The plugin host uses it to tell Swift plugins (which need `libswiftCore.so` and must never be unmapped)
/// from C plugins (which are unloaded when their last instance stops, so a rebuilt library is picked up on
/// reload). Only 64-bit little-endian ELF is read; anything else returns `nil`.
enum ELFDependencies {
    static func needed(path: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 64 else { return nil }
        return data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> [String]? in
            // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1).
            guard bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46,
                  bytes[4] == 2, bytes[5] == 1 else { return nil }
            func u16(_ offset: Int) -> Int? {
                offset + 2 <= bytes.count ? Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) : nil
            }
            func u32(_ offset: Int) -> UInt32? {
                offset + 4 <= bytes.count ? UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) : nil
            }
            func u64(_ offset: Int) -> UInt64? {
                offset + 8 <= bytes.count ? UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) : nil
            }
            guard let programOffset = u64(0x20), let entrySize = u16(0x36), let count = u16(0x38),
                  entrySize >= 56, programOffset < UInt64(bytes.count) else { return nil }

            struct Segment { var type: UInt32; var offset: UInt64; var address: UInt64; var fileSize: UInt64 }
            var segments: [Segment] = []
            for index in 0..<count {
                let base = Int(programOffset) + index * entrySize
                guard let type = u32(base), let offset = u64(base + 8), let address = u64(base + 16),
                      let fileSize = u64(base + 32) else { return nil }
                segments.append(Segment(type: type, offset: offset, address: address, fileSize: fileSize))
            }
            // PT_DYNAMIC = 2, PT_LOAD = 1.
            guard let dynamic = segments.first(where: { $0.type == 2 }) else { return [] }
            func fileOffset(ofAddress address: UInt64) -> Int? {
                for segment in segments where segment.type == 1
                    && address >= segment.address && address < segment.address + segment.fileSize {
                    return Int(segment.offset + (address - segment.address))
                }
                return nil
            }
            var neededOffsets: [UInt64] = []
            var stringTable: UInt64?
            var entry = Int(dynamic.offset)
            let end = Int(dynamic.offset + dynamic.fileSize)
            while entry + 16 <= end, let tag = u64(entry), let value = u64(entry + 8), tag != 0 {
                if tag == 1 { neededOffsets.append(value) }  // DT_NEEDED
                if tag == 5 { stringTable = value }  // DT_STRTAB
                entry += 16
            }
            guard let stringTable, let tableOffset = fileOffset(ofAddress: stringTable) else {
                return neededOffsets.isEmpty ? [] : nil
            }
            return neededOffsets.compactMap { nameOffset -> String? in
                let start = tableOffset + Int(nameOffset)
                guard start < bytes.count else { return nil }
                var stop = start
                while stop < bytes.count && bytes[stop] != 0 { stop += 1 }
                return String(decoding: bytes[start..<stop], as: UTF8.self)
            }
        }
    }

    /// Whether the library links the Swift runtime, and so must never be unloaded. `true` when unsure.
    static func linksSwiftRuntime(path: String) -> Bool {
        guard let needed = needed(path: path) else { return true }
        return needed.contains { $0.hasPrefix("libswiftCore.so") }
    }
}
