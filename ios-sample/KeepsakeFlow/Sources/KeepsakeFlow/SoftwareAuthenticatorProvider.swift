// Demo mode and tests: a PasskeyPrfProvider over Keepsake's software authenticator, which computes
// the PRF exactly as the WebAuthn spec does, so the app runs in the simulator without iCloud
// Keychain or associated domains.

/// The typed face of a WebAuthn authenticator (the bindings' software authenticator has it).
public protocol TypedAuthenticator: AnyObject {
    func create(_ request: PasskeyRegistrationRequest) throws -> PasskeyRegistration
    func get(_ request: PasskeyAssertionRequest) throws -> PasskeyAssertion
}

/// Runs ceremonies on a `TypedAuthenticator`. A request it cannot answer because it holds no
/// matching credential (`KeepsakeFlowError(.noMatchingSlot)`) is `.noCredential`; any other
/// error is `.failed`.
public final class SoftwareAuthenticatorProvider: PasskeyPrfProvider {
    private let authenticator: TypedAuthenticator

    public init(_ authenticator: TypedAuthenticator) {
        self.authenticator = authenticator
    }

    public func register(_ request: PasskeyRegistrationRequest) async -> PasskeyOutcome<PasskeyRegistration> {
        answer { try authenticator.create(request) }
    }

    public func authenticate(_ request: PasskeyAssertionRequest) async -> PasskeyOutcome<PasskeyAssertion> {
        answer { try authenticator.get(request) }
    }

    private func answer<Value>(_ call: () throws -> Value) -> PasskeyOutcome<Value> {
        do {
            return .success(try call())
        } catch let error as KeepsakeFlowError where error.failure == .noMatchingSlot {
            return .noCredential
        } catch let error as KeepsakeFlowError {
            return .failed(error.detail)
        } catch {
            return .failed("\(error)")
        }
    }
}
