// The device copy of the keyring: the root key and its generation encrypted together with an
// AES-256-GCM key that never leaves Android Keystore, the public keyring bound in as associated
// data, in one file under noBackupFilesDir written atomically. The generation is what
// Keyring.restoreChecked and BackupOptions.knownGeneration compare against; after a slot removal
// (a rotation) the whole file is replaced. No user authentication on the key: the daily backup must
// run without a prompt (DESIGN.md section 3).
package app.keepsake.sample

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.AtomicFile
import app.keepsake.sample.flow.KeyringSecrets
import app.keepsake.sample.flow.RootKeyVault
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.ByteArrayOutputStream
import java.io.DataInputStream
import java.io.DataOutputStream
import java.io.File
import java.io.FileNotFoundException
import java.nio.ByteBuffer
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/** A [RootKeyVault] sealed by Android Keystore. */
class KeystoreRootKeyVault(context: Context) : RootKeyVault {
    private val file = AtomicFile(File(context.noBackupFilesDir, "keepsake-keyring.sealed"))

    override suspend fun save(secrets: KeyringSecrets) = withContext(Dispatchers.IO) {
        val root = secrets.rootKey()
        try {
            val public = secrets.publicKeyring()
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, key()) // Keystore picks the random 12-byte IV
            cipher.updateAAD(public)
            // Sealed plaintext: root key (32 bytes) || generation (8 bytes, big-endian).
            val plain = ByteBuffer.allocate(root.size + Long.SIZE_BYTES).put(root).putLong(secrets.generation).array()
            val sealed = try {
                cipher.doFinal(plain)
            } finally {
                plain.fill(0)
            }
            val bytes = ByteArrayOutputStream().also { buffer ->
                DataOutputStream(buffer).use { out ->
                    out.writeByte(FORMAT_VERSION)
                    out.writeBlock(cipher.iv)
                    out.writeBlock(sealed)
                    out.writeBlock(public)
                }
            }.toByteArray()
            val stream = file.startWrite()
            try {
                stream.write(bytes)
                file.finishWrite(stream) // fsync + rename
            } catch (e: Exception) {
                file.failWrite(stream)
                throw e
            }
        } finally {
            root.fill(0)
        }
    }

    override suspend fun load(): KeyringSecrets? = withContext(Dispatchers.IO) {
        val bytes = try {
            file.readFully()
        } catch (e: FileNotFoundException) {
            return@withContext null
        }
        DataInputStream(bytes.inputStream()).use { input ->
            val version = input.readByte().toInt()
            check(version == FORMAT_VERSION || version == 1) { "unknown sealed keyring version $version" }
            val iv = input.readBlock()
            val sealed = input.readBlock()
            val public = input.readBlock()
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(TAG_BITS, iv))
            cipher.updateAAD(public)
            val plain = cipher.doFinal(sealed) // AEADBadTagException if the file or key changed
            try {
                // Version 1 sealed the root key alone: generation 0 (no check) until the next save.
                check(plain.size == ROOT_KEY_BYTES + (if (version == 1) 0 else Long.SIZE_BYTES)) { "sealed keyring of ${plain.size} bytes" }
                val generation = if (version == 1) 0L else ByteBuffer.wrap(plain, ROOT_KEY_BYTES, Long.SIZE_BYTES).long
                val root = plain.copyOf(ROOT_KEY_BYTES)
                try {
                    KeyringSecrets(root, public, generation)
                } finally {
                    root.fill(0)
                }
            } finally {
                plain.fill(0)
            }
        }
    }

    override suspend fun clear() = withContext(Dispatchers.IO) {
        file.delete()
        KeyStore.getInstance(KEYSTORE).apply { load(null) }.deleteEntry(ALIAS)
    }

    private fun key(): SecretKey {
        val store = KeyStore.getInstance(KEYSTORE).apply { load(null) }
        (store.getKey(ALIAS, null) as? SecretKey)?.let { return it }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .setRandomizedEncryptionRequired(true)
                .build(),
        )
        return generator.generateKey()
    }

    private fun DataOutputStream.writeBlock(block: ByteArray) {
        writeInt(block.size)
        write(block)
    }

    private fun DataInputStream.readBlock(): ByteArray {
        val size = readInt()
        require(size in 0..MAX_BLOCK) { "sealed keyring block of $size bytes" }
        return ByteArray(size).also { readFully(it) }
    }

    private companion object {
        const val KEYSTORE = "AndroidKeyStore"
        const val ALIAS = "keepsake-root-key-seal"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val TAG_BITS = 128
        /** 2: the sealed plaintext holds the root key and its generation; 1: the root key alone. */
        const val FORMAT_VERSION = 2
        const val ROOT_KEY_BYTES = 32
        const val MAX_BLOCK = 1 shl 20
    }
}
