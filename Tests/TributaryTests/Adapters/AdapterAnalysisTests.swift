import Foundation
import Testing
import TributaryAdapters
import TributaryModel

/// LAPACKE singular values and SVD merges against NumPy's (Scripts/reference/adapter_fixtures.py).
@Suite("Adapter analysis")
struct AdapterAnalysisTests {
    @Test("singular values of s·B·A equal NumPy's")
    func singularValues() throws {
        let root = try Fixtures.json("adapters/svd.json") as! [String: Any]
        var checked = 0
        for case let adapter as [String: Any] in root["adapters"] as! [Any] {
            let (_, pairs) = try AdapterLoader.rawPairs(path: Fixtures.cache + "/" + (adapter["path"] as! String))
            for case let module as [String: Any] in adapter["modules"] as! [Any] {
                let layer = module["layer"] as! Int
                let name = module["module"] as! String
                let pair = try #require(pairs.first { $0.layer == layer && $0.module.peftName == name })
                let values = try LowRank.singularValues(a: pair.a, b: pair.b, rank: pair.aShape.rows, inputs: pair.aShape.columns,
                                                        outputs: pair.bShape.rows, scale: Double(pair.scale))
                let expected = module["singular_values"] as! [Double]
                for (actual, reference) in zip(values, expected) {
                    #expect(abs(actual - reference) <= 1e-4 * reference, "\(adapter["name"]!) layer \(layer) \(name): \(actual) vs \(reference)")
                }
                checked += 1
            }
        }
        #expect(checked >= 20)
    }

    @Test("a rank-16 merge reaches the Eckart-Young error NumPy computes")
    func mergeError() throws {
        let root = try Fixtures.json("adapters/svd.json") as! [String: Any]
        let merge = root["merge"] as! [String: Any]
        let inputs = (merge["adapters"] as! [[String: Any]]).map {
            AdapterMerger.Input(path: Fixtures.cache + "/" + ($0["path"] as! String), weight: ($0["weight"] as! NSNumber).doubleValue)
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = try AdapterMerger.merge(inputs, rank: merge["svd_rank"] as! Int, output: directory + "/m", name: "m", creator: "t")
        let layer = merge["layer"] as! Int
        for case let module as [String: Any] in merge["modules"] as! [Any] {
            let name = module["module"] as! String
            let parent = ["q_proj", "k_proj", "v_proj", "o_proj"].contains(name) ? "self_attn" : "mlp"
            let error = try #require(report.errors["model.layers.\(layer).\(parent).\(name)"])
            #expect(abs(error - (module["relative_frobenius_error"] as! Double)) < 1e-4, "\(name): \(error)")
        }
        // The merged adapter loads and is valid.
        let (_, pairs) = try AdapterLoader.rawPairs(path: directory + "/m")
        #expect(pairs.allSatisfy { $0.aShape.rows == 16 })
    }
}
