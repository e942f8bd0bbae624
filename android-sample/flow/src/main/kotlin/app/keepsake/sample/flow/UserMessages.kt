// The words the screens show for each outcome, in one place so both screens say the same thing
// and the tests can check that every failure gets a specific message.
package app.keepsake.sample.flow

/** A message for the user, with whether it is an error and what the screen can offer next. */
data class UserMessage(
    val text: String,
    val isError: Boolean,
    val offerRecoveryKey: Boolean = false,
    /** What the screen offers to do about it (a button), if anything. */
    val action: UserAction? = null,
)

/** What a message offers the user to do next. */
enum class UserAction {
    /** Repair the backup storage ([BackupViewModel.repairStorage]), then back up again. */
    REPAIR_STORAGE,

    /** Try again in a few minutes (another device is backing up). */
    TRY_AGAIN_LATER,

    /** Sign in to the backup storage again (or reconnect), then try again. */
    SIGN_IN_AGAIN,
}

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
        Failure.UNTRUSTED_KEYS -> error(
            "This backup was made by an older version of the app and its keys cannot be verified. " +
                "Your chats can be restored, but set up new backup keys on this phone.",
        )
        Failure.LEGACY_SLOT -> error(
            "One of your backup keys is from an older version of the app. Unlock once with it on this phone, " +
                "or remove it, then try again.",
        )
        Failure.WEAK_PASSWORD -> error(
            "This password is too easy to guess. Use a phrase of four or more unrelated words.",
        )
        Failure.STORAGE_FULL -> error("The backup storage is full. Free up space, then back up again.")
        Failure.SIGN_IN_REQUIRED -> UserMessage(
            "The backup storage needs you to sign in again.",
            isError = true,
            action = UserAction.SIGN_IN_AGAIN,
        )
        Failure.STORAGE_UNAVAILABLE -> UserMessage(
            "The backup storage could not be reached. Check your connection, or sign in to it again, then try again.",
            isError = true,
            action = UserAction.SIGN_IN_AGAIN,
        )
        Failure.STORAGE_BUSY -> UserMessage(
            "Another device is backing up to the same storage. Try again when it has finished.",
            isError = true,
            action = UserAction.TRY_AGAIN_LATER,
        )
        Failure.STORAGE_DAMAGED -> UserMessage(
            "Your backup storage is missing or has damaged data. Repair it, then back up again.",
            isError = true,
            action = UserAction.REPAIR_STORAGE,
        )
        Failure.OTHER -> error("Something went wrong.")
    }

    /** What to say for a new password Keepsake would refuse as too short. */
    fun passwordTooShort(minChars: Int): UserMessage = error("Use a password of at least $minChars characters.")

    /** What to say once [slot] was revoked: it opens nothing new, but old backups still open with it. */
    fun revoked(slot: SlotInfo): UserMessage = info(
        "\"${slot.label}\" is revoked: it cannot open backups made from now on. Backups made before still open " +
            "with it, so delete them if it may be in the wrong hands.",
    )

    /**
     * What to say after a restore; [keptDeviceKeyring] when the backup's keys were older than this
     * phone's, [newKeys] when they could not be trusted and the phone set up new ones;
     * [damagedSkipped] damaged backups passed over for the newest intact one, made at
     * [backupTimeEpochSeconds].
     */
    fun restored(
        messages: Long,
        conversations: Long,
        keptDeviceKeyring: Boolean,
        newKeys: Boolean = false,
        damagedSkipped: Int = 0,
        backupTimeEpochSeconds: Long? = null,
    ): UserMessage = info(
        "Restored $messages messages in $conversations conversations." +
            (if (keptDeviceKeyring) " This phone keeps its current backup keys: keys removed since that backup stay revoked." else "") +
            (
                if (newKeys) {
                    " The backup was made by an older version of the app, so this phone set up new backup keys: " +
                        "add a passkey and a recovery key before the next backup."
                } else {
                    ""
                }
                ) +
            (if (damagedSkipped > 0) " ${backups(damagedSkipped.toLong())} in the backup storage ${were(damagedSkipped.toLong())} damaged: this is the newest intact one${backupTimeEpochSeconds?.let { ", from ${time(it)}" } ?: ""}." else ""),
    )

    /** What to say after a backup; with media, what became of the photos and files; what it healed. */
    fun backedUp(summary: BackupSummary): UserMessage {
        val done = summary.media?.let { info("Backup complete: ${mediaCounts(it)}.") } ?: info("Backup complete.")
        val healed = summary.healed?.takeIf { it.foundDamage } ?: return done
        return done.copy(
            text = "${done.text} ${healing(healed)}",
            action = if (healed.olderBackupsDamaged > 0) UserAction.REPAIR_STORAGE else null,
        )
    }

    /** What a backup healed in the backup storage, in words. */
    fun healing(healed: StorageHealing): String {
        val text = StringBuilder()
        if (healed.partsLost > 0 || healed.partsDamaged > 0) {
            val counts = listOfNotNull(
                healed.partsLost.takeIf { it > 0 }?.let { "$it lost" },
                healed.partsDamaged.takeIf { it > 0 }?.let { "$it damaged" },
            ).joinToString(", ")
            text.append("Your backup storage lost or damaged some data ($counts); this backup restored it.")
        }
        if (healed.olderBackupsDamaged > 0) {
            val n = healed.olderBackupsDamaged
            text.append(" ${backups(n)} ${were(n)} damaged and can no longer be restored: repair the backup storage to remove ${if (n == 1L) "it" else "them"}.")
        }
        if (healed.storageRolledBack) {
            text.append(" Your backup storage went back to an older state: backups made after it are gone, this one is complete.")
        }
        return text.toString().trim()
    }

    /** What to say after repairing the backup storage. */
    fun repaired(repair: StorageRepair): UserMessage {
        if (repair.nothingToRepair) return info("Your backup storage is in order.")
        val text = StringBuilder("Backup storage repaired.")
        if (repair.backupsRemoved > 0) {
            val n = repair.backupsRemoved.toLong()
            text.append(" ${backups(n)} that could no longer be restored ${were(n)} removed.")
        }
        if (repair.backupsMissingFiles > 0) {
            val n = repair.backupsMissingFiles.toLong()
            text.append(" ${backups(n)} ${were(n)} kept without some photos or files that are lost.")
        }
        return info("$text Back up now to store everything again.")
    }

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
    private fun backups(n: Long) = if (n == 1L) "1 backup" else "$n backups"

    /** A backup's time for people: "2026-12-06 21:57 UTC". */
    private fun time(epochSeconds: Long): String =
        java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")
            .withZone(java.time.ZoneOffset.UTC)
            .format(java.time.Instant.ofEpochSecond(epochSeconds))

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
