// SwiftUI observes these; each mirrors one flow view-model's state through its onChange hook
// (the view-models themselves stay free of Observation so they build and test on Linux).
#if canImport(SwiftUI)
import KeepsakeFlow
import Observation

@MainActor @Observable
final class BackupStore {
    let model: BackupViewModel
    private(set) var state: BackupUiState
    init(_ model: BackupViewModel) {
        self.model = model
        state = model.state
        model.onChange = { [weak self] in self?.state = $0 }
    }
}

@MainActor @Observable
final class RestoreStore {
    let model: RestoreViewModel
    private(set) var state: RestoreUiState
    /// The background media restore.
    private(set) var media: MediaRestoreUiState
    init(_ model: RestoreViewModel) {
        self.model = model
        state = model.state
        media = model.media
        model.onChange = { [weak self] in self?.state = $0 }
        model.onMediaChange = { [weak self] in self?.media = $0 }
    }
}

@MainActor @Observable
final class ChatStoreModel {
    let model: ChatViewModel
    private(set) var state: ChatUiState
    init(_ model: ChatViewModel) {
        self.model = model
        state = model.state
        model.onChange = { [weak self] in self?.state = $0 }
    }
}
#endif
