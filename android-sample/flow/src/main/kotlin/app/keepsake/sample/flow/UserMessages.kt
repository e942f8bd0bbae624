// The words the screens show for each outcome, in one place so both screens say the same thing
// and the tests can check that every failure gets a specific message.
package app.keepsake.sample.flow

/** A message for the user, with whether it is an error and what the screen can offer next. */
data class UserMessage(val text: String, val isError: Boolean, val offerRecoveryKey: Boolean = false)

/** Words for the outcomes of flows. */
object UserMessages {
    /** What to say for a Keepsake failure. */
    fun of(failure: Failure): UserMessage = when (failure) {
        Failure.WRONG_KEY -> error("That key does not open this backup.")
        Failure.RECOVERY_KEY_TYPO -> error("The recovery key has a typo. Check each group and try again.")
        Failure.PRF_UNSUPPORTED -> UserMessage(
            "This passkey provider cannot protect backups. Add a recovery key instead.",
            isError = true,
            offerRecoveryKey = true,
        )
        Failure.BAD_PRF_OUTPUT -> UserMessage(
            "The passkey provider gave an unusable key. Try another provider or the recovery key.",
            isError = true,
            offerRecoveryKey = true,
        )
        Failure.MALFORMED_WEBAUTHN -> UserMessage(
            "The passkey provider gave an answer Keepsake cannot read. Try another provider or the recovery key.",
            isError = true,
            offerRecoveryKey = true,
        )
        Failure.NO_MATCHING_SLOT -> error("This passkey was not set up for this backup. Try another passkey or the recovery key.")
        Failure.CORRUPTED -> error("The backup file is damaged or was modified.")
        Failure.TRUNCATED -> error("The backup file is incomplete.")
        Failure.UNSUPPORTED_VERSION -> error("This backup was made by a newer app version. Update the app.")
        Failure.CANCELLED -> info("Cancelled.")
        Failure.IO -> error("The file could not be read or written.")
        Failure.DATABASE -> error("The chat database could not be read or written.")
        Failure.WRONG_PASSWORD -> error("That password does not open this backup. Check it, or use a passkey or the recovery key.")
        Failure.KEYRING_ROLLED_BACK -> error(
            "These backup keys are older than the ones this phone last used and may include keys you removed. " +
                "They were not used: restore from your latest backup, or set up backups again.",
        )
        Failure.LAST_SLOT -> error(
            "This is the last way to restore your backups on a new phone. Add another passkey, recovery key or password first.",
        )
        Failure.MEDIA_UNAVAILABLE -> info("This photo or file was not in the backup.")
        Failure.STORAGE_FULL -> error("The backup storage is full. Free up space, then back up again.")
        Failure.SIGN_IN_REQUIRED -> error("The backup storage needs you to sign in again.")
        Failure.STORAGE_UNAVAILABLE -> error("The backup storage could not be reached. It will be tried again later.")
        Failure.OTHER -> error("Something went wrong.")
    }

    /** What to say for a new password Keepsake would refuse as too short. */
    fun passwordTooShort(minChars: Int): UserMessage = error("Use a password of at least $minChars characters.")

    /** What to say once [slot] was revoked: it opens nothing new, but old backups still open with it. */
    fun revoked(slot: SlotInfo): UserMessage = info(
        "\"${slot.label}\" is revoked: it cannot open backups made from now on. Backups made before still open " +
            "with it, so delete them if it may be in the wrong hands.",
    )

    /** What to say after a restore; [keptDeviceKeyring] when the backup's keys were older than this phone's. */
    fun restored(messages: Long, conversations: Long, keptDeviceKeyring: Boolean): UserMessage = info(
        "Restored $messages messages in $conversations conversations." +
            if (keptDeviceKeyring) " This phone keeps its current backup keys: keys removed since that backup stay revoked." else "",
    )

    /** What to say after a backup; with media, what became of the photos and files. */
    fun backedUp(summary: BackupSummary): UserMessage =
        summary.media?.let { info("Backup complete: ${mediaCounts(it)}.") } ?: info("Backup complete.")

    /** The media counts of a backup, as the Backup screen shows them. */
    fun mediaCounts(media: MediaBackupCounts): String =
        "${files(media.filesStored)} in the backup (${ProgressText.bytes(media.bytesStored)}), " +
            "${media.filesNotOnDevice} not on this phone, ${media.filesSkipped} skipped"

    /** No backup repository in the backup storage (nothing backed up with media yet). */
    val noRepository: UserMessage = error("No backup was found in the backup storage.")

    /** The chats are back; the photos and files follow in the background. */
    val mediaFollows: UserMessage = info("Your chats are ready. Photos and files are being restored in the background.")

    /** What to say when the media restore finished. */
    fun mediaRestored(summary: MediaRestoreSummary): UserMessage {
        val restored = summary.filesRestored + summary.filesAlreadyRestored
        val text = StringBuilder("Restored ${files(restored)} (${ProgressText.bytes(summary.bytesRestored)} now).")
        if (summary.filesNotInBackup > 0) text.append(" ${files(summary.filesNotInBackup)} ${were(summary.filesNotInBackup)} not in the backup.")
        if (summary.lost.isNotEmpty()) text.append(" ${files(summary.lost.size.toLong())} could not be restored.")
        return UserMessage(text.toString(), isError = summary.lost.isNotEmpty())
    }

    /** One line per attachment lost to damage, with Keepsake's reason. */
    fun lost(attachment: LostAttachment): String = "Attachment ${attachment.attachmentId} could not be restored: ${attachment.reason}"

    /** The media restore stopped (cancelled, offline, killed): it goes on where it stopped. */
    fun mediaInterrupted(failure: Failure): UserMessage = of(failure).let {
        it.copy(text = "Restoring photos and files stopped: ${it.text} It continues where it stopped.")
    }

    private fun files(n: Long) = if (n == 1L) "1 photo or file" else "$n photos and files"
    private fun were(n: Long) = if (n == 1L) "was" else "were"

    /** What to say when a passkey ceremony did not succeed; null for a plain cancel. */
    fun of(result: PasskeyResult): UserMessage? = when (result) {
        is PasskeyResult.Success -> null
        PasskeyResult.Cancelled -> null
        PasskeyResult.NoCredential -> UserMessage(
            "No passkey for Keepsake was found on this device. Use the recovery key instead.",
            isError = true,
            offerRecoveryKey = true,
        )
        is PasskeyResult.NotConfigured -> UserMessage(
            "Passkeys are not available on this device. Turn on a password manager, or use a recovery key.",
            isError = true,
            offerRecoveryKey = true,
        )
        is PasskeyResult.Rejected -> when (result.name) {
            "InvalidStateError" -> error("A passkey for this backup already exists in this password manager.")
            else -> error("The passkey was refused (${result.name}).")
        }
        PasskeyResult.Interrupted -> error("The passkey prompt was interrupted. Try again.")
        is PasskeyResult.Failed -> error("The passkey did not work. Try again.")
    }

    /** How the last daily background run ended, for the Backup screen. */
    fun of(result: ScheduledRunResult): UserMessage = when (result) {
        is ScheduledRunResult.Completed -> info("Daily backup done: ${result.backup.messages} messages.")
        is ScheduledRunResult.Skipped -> when (result.reason) {
            SkipReason.NOT_ENABLED -> info("Daily backup waits until backups are turned on.")
            SkipReason.RECENT_BACKUP -> info("Daily backup skipped: a recent backup is up to date.")
        }
        ScheduledRunResult.Stopped -> info("Daily backup was paused by the system; it runs again later.")
        is ScheduledRunResult.Failed -> of(result.failure).let {
            if (result.willRetry) it.copy(text = "Daily backup failed, retrying later: ${it.text}") else it.copy(text = "Daily backup failed: ${it.text}")
        }
    }

    private fun error(text: String) = UserMessage(text, isError = true)
    private fun info(text: String) = UserMessage(text, isError = false)
}

/** The progress line of the Backup and Restore screens. */
object ProgressText {
    /** "Photos and files: 3 of 10 files, 1.5 MB of 4.0 MB" in the media phase, else the phase and a percentage. */
    fun of(progress: Progress?): String {
        if (progress == null) return "Starting…"
        if (progress.phase == Phase.MEDIA) {
            val files = "${progress.filesDone ?: 0} of ${progress.filesTotal ?: 0} files"
            val bytes = progress.total?.let { "${bytes(progress.done)} of ${bytes(it)}" } ?: bytes(progress.done)
            return "${phase(progress.phase)}: $files, $bytes"
        }
        val total = progress.total?.takeIf { it > 0 } ?: return phase(progress.phase)
        return "${phase(progress.phase)}: ${(progress.done.coerceAtMost(total) * 100 / total)}%"
    }

    /** What each phase is called on screen. */
    fun phase(phase: Phase): String = when (phase) {
        Phase.BACKUP -> "Backing up chats"
        Phase.RESTORE -> "Restoring chats"
        Phase.VERIFY, Phase.CHECK -> "Checking"
        Phase.INDEX -> "Indexing"
        Phase.MEDIA -> "Photos and files"
    }

    /** Bytes for people: "512 B", "1.5 KB", "3.0 MB", "1.2 GB" (1 KB = 1024 bytes). */
    fun bytes(n: Long): String {
        if (n < 1024) return "$n B"
        val units = listOf("KB", "MB", "GB", "TB")
        var value = n / 1024.0
        var unit = 0
        while (value >= 1024 && unit < units.size - 1) {
            value /= 1024
            unit++
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", value, units[unit])
    }
}
