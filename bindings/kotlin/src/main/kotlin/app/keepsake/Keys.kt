// The key calls that take long, as suspend functions and Flows on Dispatchers.IO (package
// app.keepsake), like Keepsake.kt's backups: a password is stretched with Argon2id (about a
// second and 64 MiB) whenever one is added or tried, and the generated calls block their thread.
package app.keepsake

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow

/**
 * Adds a password slot (at least 8 characters) on [Dispatchers.IO]: [Keyring.addPassword]
 * stretches it with Argon2id for about a second, which must not happen on the main thread.
 * Seal the keyring's root key and generation again afterwards, as after any slot change.
 */
suspend fun Keyring.addPasswordSlot(label: String, password: String): SlotInfo =
    keepsakeIo { addPassword(label, password) }

/**
 * Authenticates and decodes the whole backup at [path] with [secret] without writing anything;
 * progress and result as a [Flow] (see [operationFlow]). A password secret costs an Argon2id run
 * per password slot first; a wrong one fails with `KeepsakeException.WrongPassword`.
 */
fun verifyFlow(path: String, secret: BackupSecret): Flow<OperationEvent<VerifyReport>> =
    operationFlow { listener, flag -> verifyBackup(path, secret, listener, flag) }

/**
 * The keyring of the backup at [backupPath], rebuilt with [secret] on [Dispatchers.IO] (a
 * password: Argon2id first). Check it with `checkNotRolledBack` before adopting it on a device
 * that had a keyring.
 */
suspend fun loadKeyring(backupPath: String, secret: BackupSecret): Keyring =
    keepsakeIo { keyringFromBackup(backupPath, secret) }
