import Foundation
import Synchronization
import Testing
import TributaryAdapters
import TributaryModel

/// Adapters on the real default model: batch invariance, scales, merged sums, and the registry.
@Suite("Adapters on SmolLM2")
struct AdapterServingTests {
    static let prompt = "Once upon a time, in a small village by the sea, there lived"
    static var adapterFolder: String { Fixtures.cache + "/adapters" }

    func demo(_ index: Int, _ model: LanguageModel) throws -> LoRAWeights {
        try AdapterLoader.load(path: try Fixtures.require(Self.adapterFolder + "/demo-\(index)"), base: model.configuration, identity: "demo-\(index)").weights
    }

    /// Logits of the last prompt position and after 3 greedy tokens, for one sequence.
    func run(_ transformer: Transformer, _ model: LanguageModel, _ tokens: [Int], _ adapters: [AdapterBinding]) throws -> [[Float]] {
        let cache = KVCache(configuration: model.configuration, maximumLength: 256)
        var rows: [[Float]] = []
        var logits = Array(try transformer.forward([BatchItem(cache: cache, tokens: tokens, adapters: adapters)]).last(of: 0))
        for _ in 0..<3 {
            rows.append(logits)
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            logits = Array(try transformer.forward([BatchItem(cache: cache, tokens: [next], adapters: adapters)]).last(of: 0))
        }
        return rows
    }

    @Test("a sequence gives the same logits alone and batched with 7 others on 7 other adapters")
    func batchInvariance() throws {
        let model = try Fixtures.model("smollm2")
        let adapters = try (0..<8).map { try demo($0, model) }
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let prompts = (0..<8).map { model.tokenizer.encode(Self.prompt + String(repeating: " and", count: $0)) }
        let scales: [Float] = [1, 0.5, 1, 2, 1, 0.8, 1, 1.5]
        let alone = try (0..<8).map { try run(transformer, model, prompts[$0], [AdapterBinding(weights: adapters[$0], scale: scales[$0])]) }
        // All eight together, three steps.
        let caches = (0..<8).map { _ in KVCache(configuration: model.configuration, maximumLength: 256) }
        var tokens = prompts
        for step in 0..<3 {
            let logits = try transformer.forward((0..<8).map {
                BatchItem(cache: caches[$0], tokens: tokens[$0], adapters: [AdapterBinding(weights: adapters[$0], scale: scales[$0])])
            })
            for index in 0..<8 {
                let row = Array(logits.last(of: index))
                let comparison = LogitComparison(row, reference: alone[index][step])
                #expect(comparison.relative < 1e-5, "sequence \(index) step \(step): \(comparison)")
                tokens[index] = [row.indices.max { row[$0] < row[$1] }!]
            }
        }
    }

    @Test("scale 0 equals the base; an adapter changes the output")
    func scaleZero() throws {
        let model = try Fixtures.model("smollm2")
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let tokens = model.tokenizer.encode(Self.prompt)
        let base = try run(transformer, model, tokens, [])
        let zero = try run(transformer, model, tokens, [AdapterBinding(weights: demo(0, model), scale: 0)])
        #expect(base == zero)
        let one = try run(transformer, model, tokens, [AdapterBinding(weights: demo(0, model), scale: 1)])
        #expect(LogitComparison(one[0], reference: base[0]).relative > 1e-2)
    }

    @Test("two adapters with scales equal their exact merged sum")
    func mergedSum() throws {
        let model = try Fixtures.model("smollm2")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A merge at rank 32 (16 + 16) is exact up to rounding.
        let report = try AdapterMerger.merge(
            [.init(path: Self.adapterFolder + "/demo-0", weight: 0.7), .init(path: Self.adapterFolder + "/demo-2", weight: 0.4)],
            rank: 32, output: directory + "/merged", name: "merged", creator: "test")
        #expect(report.maximumError < 1e-5)
        let merged = try AdapterLoader.load(path: directory + "/merged", base: model.configuration, identity: "merged").weights
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let tokens = model.tokenizer.encode(Self.prompt)
        let pair = try run(transformer, model, tokens, [AdapterBinding(weights: demo(0, model), scale: 0.7), AdapterBinding(weights: demo(2, model), scale: 0.4)])
        let single = try run(transformer, model, tokens, [AdapterBinding(weights: merged, scale: 1)])
        for step in 0..<3 {
            LogitComparison(single[step], reference: pair[step]).expectWithinReferenceTolerance("step \(step)")
        }
        // Data sources are combined by weight.
        #expect(report.dataSources.reduce(0) { $0 + $1.weightPPM } == 1_000_000)
    }

    @Test("PEFT and its GGUF LoRA conversion give the same logits")
    func ggufLoRA() throws {
        let model = try Fixtures.model("smollm2")
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let tokens = model.tokenizer.encode(Self.prompt)
        let gguf = try AdapterLoader.load(path: try Fixtures.require(Self.adapterFolder + "/demo-0.gguf"), base: model.configuration, identity: "g").weights
        let peft = try run(transformer, model, tokens, [AdapterBinding(weights: demo(0, model), scale: 1)])
        let converted = try run(transformer, model, tokens, [AdapterBinding(weights: gguf, scale: 1)])
        for step in 0..<3 {
            #expect(LogitComparison(converted[step], reference: peft[step]).relative < 1e-4)
        }
    }

    @Test("an adapter trained on the Hugging Face model gives the same result on the GGUF")
    func layouts() throws {
        let gguf = try Fixtures.model("smollm2")
        let hf = try Fixtures.model(path: Fixtures.cache + "/hf/smollm2-f32")
        let tokens = gguf.tokenizer.encode(Self.prompt)
        let onGGUF = try run(Transformer(configuration: gguf.configuration, weights: gguf.weights), gguf, tokens, [AdapterBinding(weights: demo(0, gguf))])
        let onHF = try run(Transformer(configuration: hf.configuration, weights: hf.weights), hf, tokens, [AdapterBinding(weights: demo(0, hf))])
        // The GGUF decodes from quantized weights, the float32 export with BLAS: same tolerance as the reference.
        for step in 0..<3 {
            LogitComparison(onHF[step], reference: onGGUF[step]).expectWithinReferenceTolerance("step \(step)")
        }
    }

    @Test("registry: identity, versions, single-flight loads, eviction under a tiny budget, removal while in use")
    func registry() throws {
        let model = try Fixtures.model("smollm2")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for index in 0..<4 {
            try FileManager.default.copyItem(atPath: Self.adapterFolder + "/demo-\(index)", toPath: folder + "/demo-\(index)")
        }
        // A budget that fits one rank-16 adapter (9.7 MB in half precision), not two.
        let registry = AdapterRegistry(base: model.configuration, folders: [folder], budgetBytes: 12_000_000)
        #expect(registry.scan().isEmpty)
        #expect(registry.list().map(\.name) == ["demo-0", "demo-1", "demo-2", "demo-3"])
        #expect(registry.list().allSatisfy { !$0.resident })

        // Identical content again is a no-op.
        let again = try registry.register(path: folder + "/demo-0", owner: "local")
        #expect(again.versions == 1)

        // Eight concurrent first uses load once.
        let results = Mutex<[ObjectIdentifier]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let resolved = try? registry.resolve(name: "demo-1") { results.withLock { $0.append(ObjectIdentifier(resolved.weights)) } }
        }
        #expect(Set(results.withLock { $0 }).count == 1)
        #expect(registry.status(name: "demo-1")?.loads == 1)

        // Under the budget only the most recent adapter stays resident; outputs stay right.
        let tokens = model.tokenizer.encode(Self.prompt)
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        for index in [0, 1, 2, 3, 0, 2] {
            let resolved = try registry.resolve(name: "demo-\(index)")
            let expected = try run(transformer, model, tokens, [AdapterBinding(weights: demo(index, model))])[0]
            let actual = try run(transformer, model, tokens, [AdapterBinding(weights: resolved.weights)])[0]
            #expect(actual == expected)
        }
        #expect(registry.counters.resident == 1)
        #expect(registry.counters.evictions >= 4)

        // Pinned adapters stay.
        try registry.setPinned(true, name: "demo-3")
        _ = try registry.resolve(name: "demo-3")
        _ = try registry.resolve(name: "demo-0")
        #expect(registry.status(name: "demo-3")?.resident == true)

        // Removal does not break a sequence holding the weights.
        let held = try registry.resolve(name: "demo-2")
        try registry.remove(name: "demo-2", requester: "local", isAdmin: false)
        #expect(registry.status(name: "demo-2") == nil)
        #expect(throws: AdapterError.self) { try registry.resolve(name: "demo-2") }
        _ = try run(transformer, model, tokens, [AdapterBinding(weights: held.weights)])

        // Changed content under the same name is a new version.
        let newContent = folder + "/demo-1-retrained"
        try FileManager.default.copyItem(atPath: Self.adapterFolder + "/demo-5", toPath: newContent)
        let updated = try registry.register(path: newContent, name: "demo-1", owner: "local")
        #expect(updated.versions == 2)
        #expect(updated.current.label.hasPrefix("v2-"))
        #expect(try registry.resolve(name: "demo-1").version.number == 2)

        // Only the owner adds versions or removes; paths outside the folders are refused.
        #expect(throws: AdapterError.self) { try registry.register(path: newContent, name: "demo-1", owner: "mallory") }
        #expect(throws: AdapterError.self) { try registry.remove(name: "demo-1", requester: "mallory", isAdmin: false) }
        #expect { try registry.register(path: Self.adapterFolder + "/demo-6", owner: "local") } throws: { "\($0)".contains("outside the configured adapter folders") }
        #expect { try registry.register(path: folder + "/../../etc", owner: "local") } throws: { "\($0)".contains("outside") }
    }

    @Test("a scan never turns two adapters with one name into versions of each other")
    func duplicateNames() throws {
        let model = try Fixtures.model("smollm2")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: Self.adapterFolder + "/demo-0", toPath: folder + "/demo-0")
        try FileManager.default.copyItem(atPath: Self.adapterFolder + "/demo-0.gguf", toPath: folder + "/demo-0.gguf")
        for _ in 0..<3 {
            let registry = AdapterRegistry(base: model.configuration, folders: [folder], budgetBytes: 1 << 30)
            let problems = registry.scan()
            #expect(problems.count == 1)
            #expect(problems.first?.problem.contains("already used") == true)
            let status = try #require(registry.status(name: "demo-0"))
            #expect(status.versions == 1)
            #expect(status.current.format == .peft)
            #expect(status.current.manifest.creator == "creator-0")
        }
    }

    @Test("1,000 registered adapters, any one served")
    func thousand() throws {
        let model = try Fixtures.model("smollm2")
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script = Process()
        script.executableURL = URL(fileURLWithPath: Fixtures.root + "/Scripts/make-demo-adapters")
        script.arguments = ["--tiny", "1000", "--out", folder]
        script.standardOutput = FileHandle.nullDevice
        try script.run()
        script.waitUntilExit()
        #expect(script.terminationStatus == 0)
        let registry = AdapterRegistry(base: model.configuration, folders: [folder], budgetBytes: 1_000_000)
        let started = Date()
        let problems = registry.scan()
        print("registered 1000 tiny adapters in \(Date().timeIntervalSince(started)) s")
        #expect(problems.isEmpty, "\(problems.prefix(3))")
        let names = registry.list().map(\.name)
        #expect(names.count == 1000)
        let transformer = Transformer(configuration: model.configuration, weights: model.weights)
        let tokens = model.tokenizer.encode(Self.prompt)
        let base = try run(transformer, model, tokens, [])[0]
        for name in [names[0], names[499], names[999]] {
            let resolved = try registry.resolve(name: name)
            let logits = try run(transformer, model, tokens, [AdapterBinding(weights: resolved.weights)])[0]
            #expect(logits != base, "\(name) should change the logits")
        }
    }
}
