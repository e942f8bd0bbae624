// The storage lines of the Backup and Restore screens: where the backup lives (iCloud), what it
// uses, and the one action a storage failure calls for. A direct rendering of CloudBackupViewModel.
#if canImport(SwiftUI) && canImport(UIKit)
import KeepsakeFlow
import Observation
import SwiftUI
import UIKit

@MainActor @Observable
final class CloudStore {
    let model: CloudBackupViewModel
    private(set) var state: CloudUiState
    init(_ model: CloudBackupViewModel) {
        self.model = model
        state = model.state
        model.onChange = { [weak self] in self?.state = $0 }
    }
}

/// `explaining`: the Backup screen's last message, so that a full iCloud or a signed-out account
/// gets where to act. `newPhone`: the Restore screen's "Find my backup", whose found step offers
/// `onUnlock` (the repository restore with the passkey).
struct CloudSection: View {
    let store: CloudStore
    var explaining: UserMessage?
    var newPhone = false
    var onUnlock: () -> Void = {}

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            if let line = store.state.whereLine { Text(line).accessibilityIdentifier("backup-place") }
            if let line = store.state.usageLine { Text(line).font(.footnote).accessibilityIdentifier("backup-usage") }
            if store.state.busy { ProgressView() }
            if let message = store.state.message {
                Text(message.text).foregroundStyle(message.isError ? .red : .primary)
            }
            switch store.state.action {
            case .signIn?:
                Button("Sign in to iCloud") { Task { await store.model.signIn() } }
            case .manageStorage?:
                Button("Manage iCloud storage") {
                    // The Settings app; the storage page is under your name > iCloud.
                    if let url = URL(string: UIApplication.openSettingsURLString) { UIApplication.shared.open(url) }
                }
            case .unlock?:
                Button("Unlock with your passkey", action: onUnlock).accessibilityIdentifier("unlock-found")
            case .tryLater?, nil:
                EmptyView()
            }
            if newPhone && store.state.action == nil && !store.state.busy {
                Button("Find my backup") { Task { await store.model.findBackup() } }.accessibilityIdentifier("find-backup")
            }
        }
        .padding(.horizontal)
        .onChange(of: explaining) { _, message in store.model.explain(message) }
    }
}
#endif
