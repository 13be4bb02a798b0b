import Testing
@Test func placeholderBuilds() { #expect(true) }
