// Passkey ceremonies through AuthenticationServices with the WebAuthn PRF extension (iOS 18.4+:
// earlier 18.x releases returned different PRF outputs over cross-device sign-in). Thin on
// purpose: it builds the platform request from Keepsake's values, reads credential id and PRF
// output back, and turns every ASAuthorizationError into one PasskeyOutcome.
#if canImport(AuthenticationServices) && canImport(UIKit)
import AuthenticationServices
import CryptoKit
import Foundation
import KeepsakeFlow
import UIKit

@available(iOS 18.4, *)
@MainActor
final class ASAuthorizationPrfProvider: NSObject, PasskeyPrfProvider {
    /// Where the system sheet is shown.
    private let anchor: () -> ASPresentationAnchor
    /// Ask for the PRF output at registration (`.inputValues`); with false only `.checkForSupport`
    /// is sent and Keepsake makes one assertion afterwards.
    private let evaluateAtRegistration: Bool
    private var pending: CheckedContinuation<ASAuthorization, Error>?
    private var controller: ASAuthorizationController?

    init(anchor: @escaping () -> ASPresentationAnchor, evaluateAtRegistration: Bool = true) {
        self.anchor = anchor
        self.evaluateAtRegistration = evaluateAtRegistration
    }

    func register(_ request: PasskeyRegistrationRequest) async -> PasskeyOutcome<PasskeyRegistration> {
        let provider = ASAuthorizationPlatformPublicKeyCredentialProvider(relyingPartyIdentifier: request.relyingPartyId)
        let platformRequest = provider.createCredentialRegistrationRequest(
            challenge: request.challenge, name: request.userName, userID: request.userId)
        platformRequest.displayName = request.userDisplayName
        platformRequest.userVerificationPreference = .required
        // Passkeys already enrolled: the provider refuses to make a second one for them.
        platformRequest.excludedCredentials = request.excludedCredentialIds.map {
            ASAuthorizationPlatformPublicKeyCredentialDescriptor(credentialID: $0)
        }
        platformRequest.prf = evaluateAtRegistration
            ? .inputValues(.saltInput1(request.prfInput))
            : .checkForSupport
        do {
            let authorization = try await perform(platformRequest)
            guard let registration = authorization.credential as? ASAuthorizationPlatformPublicKeyCredentialRegistration else {
                return .failed("unexpected credential \(type(of: authorization.credential))")
            }
            return .success(PasskeyRegistration(
                credentialId: registration.credentialID,
                prfSupported: registration.prf?.isSupported ?? false,
                prfFirst: registration.prf?.first.map(Self.bytes)))
        } catch {
            return Self.outcome(error)
        }
    }

    func authenticate(_ request: PasskeyAssertionRequest) async -> PasskeyOutcome<PasskeyAssertion> {
        let provider = ASAuthorizationPlatformPublicKeyCredentialProvider(relyingPartyIdentifier: request.relyingPartyId)
        let platformRequest = provider.createCredentialAssertionRequest(challenge: request.challenge)
        platformRequest.userVerificationPreference = .required
        // Empty on a new device: a discoverable sign-in; the response's credential id picks the slot.
        platformRequest.allowedCredentials = request.allowedCredentialIds.map {
            ASAuthorizationPlatformPublicKeyCredentialDescriptor(credentialID: $0)
        }
        platformRequest.prf = .inputValues(.saltInput1(request.prfInput))
        do {
            let authorization = try await perform(platformRequest)
            guard let assertion = authorization.credential as? ASAuthorizationPlatformPublicKeyCredentialAssertion else {
                return .failed("unexpected credential \(type(of: authorization.credential))")
            }
            return .success(PasskeyAssertion(credentialId: assertion.credentialID, prfFirst: assertion.prf.map { Self.bytes($0.first) }))
        } catch {
            return Self.outcome(error)
        }
    }

    /// The PRF output leaves CryptoKit only as the bytes Keepsake needs.
    private static func bytes(_ key: SymmetricKey) -> Data {
        key.withUnsafeBytes { Data($0) }
    }

    private func perform(_ request: ASAuthorizationRequest) async throws -> ASAuthorization {
        guard pending == nil else { throw ASAuthorizationError(.notInteractive) }
        return try await withCheckedThrowingContinuation { continuation in
            pending = continuation
            let controller = ASAuthorizationController(authorizationRequests: [request])
            controller.delegate = self
            controller.presentationContextProvider = self
            self.controller = controller // kept alive until the delegate answers
            controller.performRequests()
        }
    }

    private func finish(_ result: Result<ASAuthorization, Error>) {
        let continuation = pending
        pending = nil
        controller = nil
        continuation?.resume(with: result)
    }

    static func outcome<Value>(_ error: Error) -> PasskeyOutcome<Value> {
        guard let error = error as? ASAuthorizationError else { return .failed("\(error)") }
        switch error.code {
        case .canceled: return .cancelled
        case .notInteractive: return .interrupted
        // The credential provider already holds a passkey from excludeCredentials.
        case .matchedExcludedCredential: return .rejected(name: "InvalidStateError", detail: error.localizedDescription)
        // The app is not associated with the RP id (webcredentials: entitlement and the
        // domain's apple-app-site-association), or no provider could handle the request.
        case .notHandled: return .notConfigured(error.localizedDescription)
        case .failed:
            let detail = (error.userInfo[NSLocalizedFailureReasonErrorKey] as? String) ?? error.localizedDescription
            if detail.localizedCaseInsensitiveContains("associated") || detail.localizedCaseInsensitiveContains("domain") {
                return .notConfigured(detail)
            }
            return .failed(detail)
        case .invalidResponse: return .rejected(name: "NotAllowedError", detail: error.localizedDescription)
        default: return .failed(error.localizedDescription)
        }
    }
}

@available(iOS 18.4, *)
extension ASAuthorizationPrfProvider: ASAuthorizationControllerDelegate, ASAuthorizationControllerPresentationContextProviding {
    nonisolated func authorizationController(controller: ASAuthorizationController,
                                             didCompleteWithAuthorization authorization: ASAuthorization) {
        MainActor.assumeIsolated { finish(.success(authorization)) }
    }

    nonisolated func authorizationController(controller: ASAuthorizationController, didCompleteWithError error: Error) {
        MainActor.assumeIsolated { finish(.failure(error)) }
    }

    nonisolated func presentationAnchor(for controller: ASAuthorizationController) -> ASPresentationAnchor {
        MainActor.assumeIsolated { anchor() }
    }
}
#endif
