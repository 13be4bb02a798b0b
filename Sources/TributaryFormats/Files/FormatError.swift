/// A model or adapter file that cannot be used, with the file and what is wrong with it.
public struct FormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or directory) the problem was found in.
    public let file: String
    /// What is wrong, in words a user can act on.
    public let problem: String

    /// Creates an error for `file`.
    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
