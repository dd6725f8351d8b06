import StepflowCore
import Testing

@Suite("Numbers as Prometheus writes them")
struct PrometheusTextTests {
    @Test("NaN, infinities, whole numbers without a fraction, the rest in shortest form; nothing traps")
    func formats() {
        #expect(Double.nan.prometheusText == "NaN")
        #expect(Double.infinity.prometheusText == "+Inf")
        #expect((-Double.infinity).prometheusText == "-Inf")
        #expect(3.0.prometheusText == "3")
        #expect((-0.0).prometheusText == "0")
        #expect(0.25.prometheusText == "0.25")
        #expect(1e20.prometheusText == "1e+20")
        #expect(Double.greatestFiniteMagnitude.prometheusText == "1.7976931348623157e+308")
        #expect(999_999_999_999_999.0.prometheusText == "999999999999999")
        #expect(Double.leastNonzeroMagnitude.prometheusText == "5e-324")
    }
}
