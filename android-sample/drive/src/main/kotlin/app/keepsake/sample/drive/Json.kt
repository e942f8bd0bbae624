package app.keepsake.sample.drive

/**
 * The little JSON the Drive API answers with (file metadata, file lists, error bodies), read
 * into maps, lists, strings, numbers (as [Double] or [Long]), booleans and null. org.json is
 * Android's but not the JVM's, where the store is tested, and a JSON library would be a new
 * dependency for four fields.
 */
object Json {
    /** Parses [text]; throws [IllegalArgumentException] with the offset of the first error. */
    fun parse(text: String): Any? {
        val reader = Reader(text)
        val value = reader.value()
        reader.skipSpace()
        require(reader.at == text.length) { "JSON: trailing text at ${reader.at}" }
        return value
    }

    /** [value] as a JSON string literal, quotes included. */
    fun quote(value: String): String = buildString {
        append('"')
        for (c in value) {
            when {
                c == '"' -> append("\\\"")
                c == '\\' -> append("\\\\")
                c == '\n' -> append("\\n")
                c == '\r' -> append("\\r")
                c == '\t' -> append("\\t")
                c < ' ' -> append("\\u%04x".format(c.code))
                else -> append(c)
            }
        }
        append('"')
    }

    private class Reader(val text: String) {
        var at = 0

        fun fail(what: String): Nothing = throw IllegalArgumentException("JSON: $what at $at")

        fun skipSpace() {
            while (at < text.length && text[at] in " \t\r\n") at++
        }

        fun value(): Any? {
            skipSpace()
            if (at >= text.length) fail("unexpected end")
            return when (val c = text[at]) {
                '{' -> obj()
                '[' -> array()
                '"' -> string()
                't' -> word("true", true)
                'f' -> word("false", false)
                'n' -> word("null", null)
                else -> if (c == '-' || c in '0'..'9') number() else fail("unexpected '$c'")
            }
        }

        fun word(word: String, value: Any?): Any? {
            if (!text.startsWith(word, at)) fail("expected $word")
            at += word.length
            return value
        }

        fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            at++
            skipSpace()
            if (text.getOrNull(at) == '}') return out.also { at++ }
            while (true) {
                skipSpace()
                if (text.getOrNull(at) != '"') fail("expected a key")
                val key = string()
                skipSpace()
                if (text.getOrNull(at) != ':') fail("expected ':'")
                at++
                out[key] = value()
                skipSpace()
                when (text.getOrNull(at)) {
                    ',' -> at++
                    '}' -> return out.also { at++ }
                    else -> fail("expected ',' or '}'")
                }
            }
        }

        fun array(): List<Any?> {
            val out = ArrayList<Any?>()
            at++
            skipSpace()
            if (text.getOrNull(at) == ']') return out.also { at++ }
            while (true) {
                out += value()
                skipSpace()
                when (text.getOrNull(at)) {
                    ',' -> at++
                    ']' -> return out.also { at++ }
                    else -> fail("expected ',' or ']'")
                }
            }
        }

        fun string(): String {
            val out = StringBuilder()
            at++
            while (true) {
                if (at >= text.length) fail("unterminated string")
                val c = text[at++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        if (at >= text.length) fail("unterminated escape")
                        when (val e = text[at++]) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000c')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                if (at + 4 > text.length) fail("short \\u escape")
                                val code = text.substring(at, at + 4).toIntOrNull(16) ?: fail("bad \\u escape")
                                out.append(code.toChar())
                                at += 4
                            }
                            else -> fail("bad escape '\\$e'")
                        }
                    }
                    c < ' ' -> fail("control character in a string")
                    else -> out.append(c)
                }
            }
        }

        fun number(): Any {
            val start = at
            if (text[at] == '-') at++
            while (at < text.length && text[at] in "0123456789.eE+-") at++
            val literal = text.substring(start, at)
            return literal.toLongOrNull() ?: literal.toDoubleOrNull() ?: fail("bad number '$literal'")
        }
    }
}

/** Field [key] of a parsed JSON object, or null. */
fun Any?.field(key: String): Any? = (this as? Map<*, *>)?.get(key)

/** A Drive int64 field (Drive sends them as strings) as a Long, or null. */
fun Any?.int64(): Long? = when (this) {
    is Long -> this
    is Double -> this.toLong()
    is String -> this.toLongOrNull()
    else -> null
}
