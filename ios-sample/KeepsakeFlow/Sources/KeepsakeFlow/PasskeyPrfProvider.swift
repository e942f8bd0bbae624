// The one thing the flows need from the platform's passkey API, in the typed form iOS uses.
// The app implements it with AuthenticationServices (ASAuthorizationPrfProvider), demo mode and
// the tests with the software authenticator. Plain Swift: compiled and tested on Linux.
import Foundation

/// What a passkey registration needs; read from Keepsake's registration request.
public struct PasskeyRegistrationRequest: Sendable, Equatable {
    public var relyingPartyId: String
    public var userName: String
    /// The name the provider shows for the account (`displayName`).
    public var userDisplayName: String
    public var userId: Data
    public var challenge: Data
    /// The keyring's PRF input (`saltInput1`).
    public var prfInput: Data
    /// Passkeys already enrolled (`excludedCredentials`), so the provider does not make a second.
    public var excludedCredentialIds: [Data]

    public init(relyingPartyId: String, userName: String, userDisplayName: String? = nil, userId: Data,
                challenge: Data, prfInput: Data, excludedCredentialIds: [Data] = []) {
        self.relyingPartyId = relyingPartyId
        self.userName = userName
        self.userDisplayName = userDisplayName ?? userName
        self.userId = userId
        self.challenge = challenge
        self.prfInput = prfInput
        self.excludedCredentialIds = excludedCredentialIds
    }
}

/// What a passkey assertion needs; read from Keepsake's assertion request.
public struct PasskeyAssertionRequest: Sendable, Equatable {
    public var relyingPartyId: String
    public var challenge: Data
    public var prfInput: Data
    /// Empty for a discoverable sign-in (a new device does not know the credential ids).
    public var allowedCredentialIds: [Data]

    public init(relyingPartyId: String, challenge: Data, prfInput: Data, allowedCredentialIds: [Data]) {
        self.relyingPartyId = relyingPartyId
        self.challenge = challenge
        self.prfInput = prfInput
        self.allowedCredentialIds = allowedCredentialIds
    }
}

/// What iOS returns from a registration (`ASAuthorizationPlatformPublicKeyCredentialRegistration`).
public struct PasskeyRegistration: Sendable, CustomStringConvertible {
    public var credentialId: Data
    /// `prf?.isSupported`; false when `prf` is nil.
    public var prfSupported: Bool
    /// `prf?.first` as bytes, when the provider evaluated the PRF during registration.
    public var prfFirst: Data?

    public init(credentialId: Data, prfSupported: Bool, prfFirst: Data?) {
        self.credentialId = credentialId
        self.prfSupported = prfSupported
        self.prfFirst = prfFirst
    }

    /// Never prints the PRF output.
    public var description: String {
        "PasskeyRegistration(credential \(credentialId.count) bytes, prfSupported \(prfSupported), prf \(prfFirst == nil ? "none" : "redacted"))"
    }
}

/// What iOS returns from an assertion (`ASAuthorizationPlatformPublicKeyCredentialAssertion`).
public struct PasskeyAssertion: Sendable, CustomStringConvertible {
    public var credentialId: Data
    /// `prf?.first` as bytes; nil when the provider gave no PRF output.
    public var prfFirst: Data?

    public init(credentialId: Data, prfFirst: Data?) {
        self.credentialId = credentialId
        self.prfFirst = prfFirst
    }

    /// Never prints the PRF output.
    public var description: String {
        "PasskeyAssertion(credential \(credentialId.count) bytes, prf \(prfFirst == nil ? "none" : "redacted"))"
    }
}

/// How a ceremony ended. Every AuthenticationServices failure maps onto exactly one of these.
public enum PasskeyOutcome<Value: Sendable>: Sendable {
    case success(Value)
    /// The user dismissed the sheet: not an error.
    case cancelled
    /// No passkey for this app on the device or in the user's password managers.
    case noCredential
    /// Passkeys cannot work for this app here (associated domains, no provider); detail for logs.
    case notConfigured(String)
    /// The authenticator refused; `name` is the closest WebAuthn error name.
    case rejected(name: String, detail: String)
    /// The ceremony was interrupted (app in the background, another request): retry.
    case interrupted
    /// Anything else.
    case failed(String)
}

/// Runs WebAuthn ceremonies with the PRF extension.
public protocol PasskeyPrfProvider: AnyObject {
    func register(_ request: PasskeyRegistrationRequest) async -> PasskeyOutcome<PasskeyRegistration>
    func authenticate(_ request: PasskeyAssertionRequest) async -> PasskeyOutcome<PasskeyAssertion>
}
