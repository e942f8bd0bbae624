package app.keepsake.sample.drive

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import org.junit.Test

class JsonTest {
    @Test
    fun readsTheShapesDriveAnswersWith() {
        val parsed = Json.parse(
            """{"kind":"drive#fileList","nextPageToken":"t\/1","files":[{"id":"a","size":"12","n":-3.5e2,"ok":true,"x":null}],"e":[]}""",
        )
        assertEquals("t/1", parsed.field("nextPageToken"))
        val file = (parsed.field("files") as List<*>).single()
        assertEquals(12L, file.field("size").int64())
        assertEquals(-350.0, file.field("n"))
        assertEquals(true, file.field("ok"))
        assertEquals(null, file.field("x"))
        assertEquals(emptyList<Any?>(), parsed.field("e"))
        assertEquals(7L, Json.parse(" 7 "))
    }

    @Test
    fun quotedStringsComeBackAsTheyWere() {
        for (text in listOf("", "plain", "quote \" and \\ slash", "tab\tnew\nline\u0001", "ünïcødé ☃ \uD83D\uDE00")) {
            assertEquals(text, Json.parse(Json.quote(text)))
        }
        assertEquals("é☃", Json.parse("\"\\u00e9\\u2603\""))
    }

    @Test
    fun malformedTextIsRefusedWithItsOffset() {
        for (bad in listOf("", "{", "{\"a\"}", "[1,]", "\"open", "tru", "{\"a\":1} x", "\"\\q\"", "01x")) {
            val failure = assertFailsWith<IllegalArgumentException>(bad) { Json.parse(bad) }
            assert(failure.message!!.startsWith("JSON:")) { failure.message!! }
        }
    }
}
