import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory mapping of a whole file.
///
/// Mapping (not reading) keeps start-up fast and lets the page cache share weights between
/// processes; `Data(contentsOf:options: .mappedIfSafe)` reads whole files on Linux (GUIDE §4).
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// The file's bytes; valid for the lifetime of this object.
    public let bytes: UnsafeRawBufferPointer

    /// Maps `path` read-only. An empty file maps to an empty buffer.
    public init(path: String) throws(FormatError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw FormatError(file: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw FormatError(file: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(file: path, "not a regular file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw FormatError(file: path, "cannot map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    /// The size of the file in bytes.
    public var count: Int { bytes.count }

    /// Asks the kernel to read the given range ahead (a hint; errors are ignored).
    public func adviseWillNeed(offset: Int = 0, count: Int? = nil) {
        guard let base = bytes.baseAddress else { return }
        let length = count ?? (bytes.count - offset)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset / page) * page
        madvise(UnsafeMutableRawPointer(mutating: base + start), length + (offset - start), MADV_WILLNEED)
    }
}
