// The sample's SwiftUI app: three tabs (Chats, Backup, Restore), each a direct rendering of its
// flow view-model's state.
#if canImport(SwiftUI) && canImport(UIKit)
import KeepsakeFlow
import SwiftUI
import UniformTypeIdentifiers

@main
struct KeepsakeSampleApp: App {
    @State private var services: SampleServices

    init() {
        let services = SampleServices()
        _services = State(initialValue: services)
        // Daily backups in the background (not in demo mode: its passkeys live only in memory).
        if !services.demo {
            let runner = services.dailyBackups
            DailyBackupTask.register(runner)
            DailyBackupTask.schedule(runner)
        }
    }

    var body: some Scene {
        WindowGroup { RootView(services: services) }
    }
}

struct RootView: View {
    let services: SampleServices
    @State private var chat: ChatStoreModel
    @State private var backup: BackupStore
    @State private var restore: RestoreStore
    @State private var cloud: CloudStore

    init(services: SampleServices) {
        self.services = services
        _chat = State(initialValue: ChatStoreModel(ChatViewModel(engine: services.engine)))
        _backup = State(initialValue: BackupStore(BackupViewModel(
            engine: services.engine, passkeys: services.passkeys, vault: services.vault,
            history: services.history, backupPath: { [services] in services.backupPath() },
            scheduledRuns: services.scheduledRuns)))
        _restore = State(initialValue: RestoreStore(RestoreViewModel(
            engine: services.engine, passkeys: services.passkeys, vault: services.vault)))
        _cloud = State(initialValue: CloudStore(CloudBackupViewModel(account: services.cloudAccount)))
    }

    var body: some View {
        TabView {
            ChatView(store: chat).tabItem { Label("Chats", systemImage: "bubble.left.and.bubble.right") }
            VStack {
                CloudSection(store: cloud, explaining: backup.state.message)
                BackupView(store: backup, demo: services.demo)
            }.tabItem { Label("Backup", systemImage: "lock.icloud") }
            VStack {
                CloudSection(store: cloud, newPhone: true) { _ = restore.model.pickRepository() }
                RestoreView(store: restore) {
                    Task { await chat.model.refresh(); await backup.model.load(); await cloud.model.load() }
                }
            }.tabItem { Label("Restore", systemImage: "arrow.down.doc") }
        }
        .task {
            await chat.model.refresh()
            await backup.model.load()
            await cloud.model.load()
            // A media restore the app was killed in goes on with the next file.
            restore.model.resumeMedia()
        }
    }
}

struct MessageText: View {
    let message: UserMessage
    var body: some View {
        Text(message.text)
            .foregroundStyle(message.isError ? .red : .primary)
            .accessibilityIdentifier("message")
    }
}

struct ProgressLine: View {
    let progress: OperationProgress?
    var body: some View {
        if let progress, let total = progress.total, total > 0 {
            ProgressView(value: Double(progress.done), total: Double(total))
        } else {
            ProgressView()
        }
        // The chats, then "Photos and files: 3 of 10 files, 1.5 MB of 4.0 MB".
        Text(ProgressText.of(progress)).font(.caption).accessibilityIdentifier("progress")
    }
}

struct ChatView: View {
    let store: ChatStoreModel
    @State private var title = ""
    @State private var draft = ""

    var body: some View {
        NavigationStack {
            List {
                Section {
                    HStack {
                        TextField("New conversation", text: $title).accessibilityIdentifier("new-title")
                        Button("Create") { Task { await store.model.newConversation(title: title); title = "" } }
                            .accessibilityIdentifier("create")
                    }
                }
                ForEach(store.state.conversations) { conversation in
                    Button("\(conversation.title): \(conversation.lastMessage ?? "")") {
                        Task { await store.model.open(conversation.id) }
                    }
                }
                ForEach(store.state.messages) { message in Text("\(message.sender): \(message.text)") }
                if store.state.openConversation != nil {
                    HStack {
                        TextField("Message", text: $draft).accessibilityIdentifier("draft")
                        Button("Send") { Task { await store.model.send(draft); draft = "" } }.accessibilityIdentifier("send")
                    }
                }
                if let message = store.state.message { MessageText(message: message) }
            }
            .navigationTitle("Chats")
        }
    }
}

struct BackupView: View {
    let store: BackupStore
    let demo: Bool
    @State private var password = ""
    /// The slot the user asked to remove, until they confirm that it revokes it.
    @State private var removing: SlotInfo?

    var body: some View {
        let state = store.state
        NavigationStack {
            List {
                if demo { Text("Demo mode: software authenticator").font(.caption) }
                if state.slots.isEmpty { Text("Protected by: nothing yet") }
                ForEach(state.slots, id: \.id) { slot in
                    HStack {
                        Text(slot.deviceBound ? "\(slot.label) (this phone only)" : slot.label)
                        Spacer()
                        Button("Remove", role: .destructive) { removing = slot }.disabled(state.work != nil)
                    }
                }
                Button("Enable backups with a passkey") { store.model.enableWithPasskey() }
                    .disabled(state.work != nil).accessibilityIdentifier("enable-passkey")
                Button("Add a recovery key") { store.model.addRecoveryKey() }
                    .disabled(state.work != nil).accessibilityIdentifier("add-recovery-key")
                SecureField("Password (at least \(minPasswordChars) characters)", text: $password).accessibilityIdentifier("password-input")
                Button("Add a password") { store.model.addPassword(password); password = "" }
                    .disabled(state.work != nil || password.isEmpty).accessibilityIdentifier("add-password")
                Button("Back up now") { store.model.backUpNow() }
                    .disabled(!state.canBackUp).accessibilityIdentifier("back-up-now")
                Button("Back up with photos and files") { store.model.backUpWithMedia() }
                    .disabled(!state.canBackUp).accessibilityIdentifier("back-up-with-media")
                switch state.work {
                case .backingUp(let progress), .backingUpWithMedia(let progress):
                    ProgressLine(progress: progress)
                    Button("Cancel", role: .cancel) { store.model.cancel() }
                case .some: ProgressView()
                case .none: EmptyView()
                }
                if let key = state.newRecoveryKey {
                    Text("Your recovery key. Write it down; it is shown only now:")
                    Text(key).font(.system(.body, design: .monospaced)).textSelection(.enabled)
                        .accessibilityIdentifier("recovery-key")
                    Button("I wrote it down") { store.model.recoveryKeyNoted() }
                }
                Text(state.lastBackup.map {
                    "Last backup: \($0.finishedAt.formatted()), \($0.messages) messages, \(ProgressText.bytes($0.bytes))"
                        + ($0.media.map { "; \(UserMessage.mediaCounts($0))" } ?? "")
                } ?? "No backup yet").accessibilityIdentifier("last-backup")
                if let run = state.lastScheduledRun {
                    Text("\(run.finishedAt.formatted()): \(UserMessage.of(run.result).text)")
                        .accessibilityIdentifier("last-scheduled-run")
                }
                if let message = state.message {
                    MessageText(message: message)
                    // The backup storage lost or damaged data no backup can bring back: offer the repair.
                    if message.action == .repairStorage {
                        Button("Repair backup storage") { store.model.repairStorage() }
                            .disabled(state.work != nil).accessibilityIdentifier("repair-storage")
                    }
                }
            }
            .navigationTitle("Backup")
            // Removing a slot is a revocation (a root-key rotation), not a harmless clean-up: say so.
            .confirmationDialog("Remove \(removing?.label ?? "")?", isPresented: Binding(get: { removing != nil },
                                                                                    set: { if !$0 { removing = nil } }),
                                titleVisibility: .visible, presenting: removing) { slot in
                Button("Remove and revoke", role: .destructive) { store.model.removeSlot(slot) }
            } message: { _ in
                Text("It will not open backups made from now on. Backups made before still open with it: delete them if it may be in the wrong hands.")
            }
        }
    }
}

/// The background media restore: progress in files and bytes, the result and the lost attachments.
struct MediaRestoreSection: View {
    let store: RestoreStore
    var body: some View {
        let media = store.media
        if media.running {
            ProgressLine(progress: media.progress)
            Button("Pause photos and files", role: .cancel) { store.model.cancelMedia() }.accessibilityIdentifier("cancel-media")
        } else if media.result == nil, media.message != nil {
            // Stopped (cancelled, offline): it continues where it stopped.
            Button("Continue") { store.model.resumeMedia() }.accessibilityIdentifier("resume-media")
        }
        if let message = media.message { MessageText(message: message) }
        ForEach(media.lostLines, id: \.self) { Text($0).font(.caption) }
        if let opened = media.opened { Text("Opened \(opened.mime): \(opened.path)").font(.caption) }
    }
}

struct RestoreView: View {
    let store: RestoreStore
    let onRestored: () -> Void
    @State private var picking = false
    @State private var recoveryKey = ""
    @State private var password = ""

    var body: some View {
        NavigationStack {
            List {
                switch store.state {
                case .chooseFile(let message):
                    Button("Choose a backup file") { picking = true }.accessibilityIdentifier("pick-file")
                    Button("Restore from backup storage (with photos and files)") { store.model.pickRepository() }
                        .accessibilityIdentifier("pick-repository")
                    if let message { MessageText(message: message) }
                case .inspecting:
                    ProgressView()
                case .chooseUnlock(let info, let message):
                    Text(info.fromRepository ? "Backup in \(info.path)" : "Backup of \(info.createdAt.formatted())")
                    if info.canUsePasskey {
                        Button("Unlock with passkey") { store.model.unlockWithPasskey() }.accessibilityIdentifier("unlock-passkey")
                    }
                    if info.canUseRecoveryKey {
                        TextField("Recovery key", text: $recoveryKey).accessibilityIdentifier("recovery-key-input")
                            .textInputAutocapitalization(.characters).autocorrectionDisabled()
                        Button("Unlock with recovery key") { store.model.unlockWithRecoveryKey(recoveryKey) }
                            .accessibilityIdentifier("unlock-recovery-key")
                    }
                    if info.canUsePassword {
                        SecureField("Password", text: $password).accessibilityIdentifier("password-input")
                        Button("Unlock with password") { store.model.unlockWithPassword(password) }
                            .accessibilityIdentifier("unlock-password")
                    }
                    if let message { MessageText(message: message) }
                case .restoring(_, let progress):
                    ProgressLine(progress: progress)
                    Button("Cancel", role: .cancel) { store.model.cancel() }
                case .restored:
                    Text(store.state.restoredMessage?.text ?? "")
                        .accessibilityIdentifier("restored")
                    // The chats are ready: the photos and files go on in the background (below).
                    Button("Show my chats") { onRestored(); store.model.reset() }
                }
                MediaRestoreSection(store: store)
            }
            .navigationTitle("Restore")
            .fileImporter(isPresented: $picking, allowedContentTypes: [.data]) { result in
                guard case .success(let url) = result else { return }
                // The engine reads a path: copy the security-scoped file into the temporary folder.
                let copy = FileManager.default.temporaryDirectory.appendingPathComponent("picked.keepsake")
                let scoped = url.startAccessingSecurityScopedResource()
                defer { if scoped { url.stopAccessingSecurityScopedResource() } }
                try? FileManager.default.removeItem(at: copy)
                if (try? FileManager.default.copyItem(at: url, to: copy)) != nil {
                    store.model.pickFile(copy.path)
                }
            }
        }
    }
}
#endif
