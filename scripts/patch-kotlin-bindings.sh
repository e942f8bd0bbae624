#!/usr/bin/env bash
# Post-processing of the Kotlin UniFFI 0.32.2 generates (called by scripts/generate-bindings.sh).
# Each patch first checks that the generated text is exactly what it expects and fails otherwise,
# so a UniFFI upgrade that changes the templates (or fixes the defect) stops the build and the patch
# is reviewed or dropped, never silently skipped. Running it twice fails too (scripts/test-bindings.sh
# checks that, as the stand-in for changed text).
#
# Usage: scripts/patch-kotlin-bindings.sh <keepsake_ffi.kt>
set -euo pipefail
kotlin_file="$1"
patch_failed() {
    echo "patch-kotlin-bindings.sh: $* (UniFFI's generated Kotlin changed: review this patch)" >&2
    exit 1
}
count() { grep -cF -- "$1" "$kotlin_file" || true; }

# 1. Object arguments get the receivers' destroyed check. UniFFI 0.32's `lower()` calls
#    `uniffiCloneHandle()` directly: an object closed by `use {}` and passed as an argument
#    hands Rust the freed pointer (use after free). `callWithHandle` is the path receivers take:
#    it throws IllegalStateException once the object is destroyed, else keeps it alive while it
#    clones the handle, and the clone Rust receives owns its own reference.
objects=$(count 'fun uniffiCloneHandle(): Long {')
checked=$(count 'has already been destroyed")')
unchecked=$(count 'return value.uniffiCloneHandle()')
[[ "$objects" -ge 1 ]] || patch_failed "no object classes found"
[[ "$checked" == "$objects" ]] || patch_failed "$objects objects but $checked destroyed checks in callWithHandle"
[[ "$unchecked" == "$objects" ]] || patch_failed "$objects objects but $unchecked unchecked lower() bodies"
sed -i 's/return value\.uniffiCloneHandle()$/return value.callWithHandle { it }/' "$kotlin_file"
[[ "$(count 'return value.callWithHandle { it }')" == "$objects" ]] || patch_failed "lower() patch incomplete"

# 2. Exception messages are the error's detail (a sentence), not "detail=...".
variants=$(count 'get() = "detail=${ `detail` }"')
[[ "$variants" -ge 1 ]] || patch_failed "no KeepsakeException message getters found"
sed -i 's/get() = "detail=\${ `detail` }"$/get() = `detail`/' "$kotlin_file"
#    MediaUnavailable carries the attachment id too; its message is the detail all the same.
with_id=$(count 'get() = "attachmentId=${ `attachmentId` }, detail=${ `detail` }"')
[[ "$with_id" == "1" ]] || patch_failed "$with_id MediaUnavailable message getters, expected 1"
sed -i 's/get() = "attachmentId=\${ `attachmentId` }, detail=\${ `detail` }"$/get() = `detail`/' "$kotlin_file"
variants=$((variants + with_id))
#    KeepsakeException.Storage (kind, retryAfterMs) and BlobStoreException.Throttled
#    (retryAfterMs) carry more fields after the detail; their message is the detail too.
with_more=$(grep -cE 'get\(\) = "detail=\$\{ `detail` \}, [a-zA-Z]+=.*"$' "$kotlin_file" || true)
[[ "$with_more" == "2" ]] || patch_failed "$with_more message getters with fields after the detail, expected 2"
sed -i -E 's/get\(\) = "detail=\$\{ `detail` \}, [a-zA-Z]+=.*"$/get() = `detail`/' "$kotlin_file"
variants=$((variants + with_more))
[[ "$(count 'detail=')" == "0" ]] || patch_failed "a message still reads detail=..."

# 3. What an app callback (a BlobStore, a ByteSink, a media writer) throws reaches Rust as one
#    line, not as a Java stack trace: the message ends up in a KeepsakeException's message, which
#    is a sentence for logs and error UIs. And an Error (Kotlin's TODO(), an assertion) is caught
#    like an Exception: uncaught, JNA swallowed it and Rust read the empty answer as success
#    ("not enough bytes remaining in buffer").
helpers=$(count '    } catch(e: kotlin.Exception) {')
traces=$(count 'try { e.stackTraceToString() } catch(_: Throwable) { "" }')
[[ "$helpers" == "2" ]] || patch_failed "$helpers callback helpers catching kotlin.Exception, expected 2"
[[ "$traces" == "2" ]] || patch_failed "$traces stack traces lowered for Rust, expected 2"
sed -i 's/^    } catch(e: kotlin\.Exception) {$/    } catch(e: kotlin.Throwable) {/' "$kotlin_file"
sed -i 's/try { e\.stackTraceToString() } catch(_: Throwable) { "" }/try { uniffiCallbackFailure(e) } catch(_: Throwable) { "" }/' "$kotlin_file"
cat >>"$kotlin_file" <<'KOTLIN'

// Added by scripts/patch-kotlin-bindings.sh: how an exception an app callback threw reads in
// Keepsake's error messages, "<message> (<exception class>)", instead of its stack trace.
internal fun uniffiCallbackFailure(e: Throwable): String {
    val type = e.javaClass.simpleName.ifEmpty { e.javaClass.name }
    val message = e.message?.lineSequence()?.firstOrNull()?.trim().orEmpty()
    return if (message.isEmpty()) type else "$message ($type)"
}
KOTLIN
[[ "$(count 'catch(e: kotlin.Throwable) {')" -ge 2 && "$(count 'uniffiCallbackFailure(e)')" == "2" ]] ||
    patch_failed "callback exception patch incomplete"
echo "patch-kotlin-bindings.sh: patched $kotlin_file: $objects object lower() bodies, $variants exception messages, $helpers callback helpers" >&2
