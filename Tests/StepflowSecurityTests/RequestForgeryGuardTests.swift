import StepflowSecurity
import Testing

@Suite("The dashboard's form tokens")
struct RequestForgeryGuardTests {
    @Test("a token is accepted for its principal only, and only by the host that made it")
    func tokens() {
        let guardian = RequestForgeryGuard()
        let token = guardian.token(for: "oncall")
        #expect(token.count == 64)
        #expect(guardian.token(for: "oncall") == token)
        #expect(guardian.accepts(token, for: "oncall"))
        #expect(guardian.accepts(token.uppercased(), for: "oncall"))
        #expect(!guardian.accepts(token, for: "ops"))
        #expect(!guardian.accepts(guardian.token(for: "ops"), for: "oncall"))
        #expect(!RequestForgeryGuard().accepts(token, for: "oncall"), "another host's (or a restarted host's) key")
        for forged in [nil, "", "x", String(repeating: "0", count: 64), String(token.dropLast()), token + "0", "<script>"] {
            #expect(!guardian.accepts(forged, for: "oncall"), "\(forged ?? "nil")")
        }
    }
}
