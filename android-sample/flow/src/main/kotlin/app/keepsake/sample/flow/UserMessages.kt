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
