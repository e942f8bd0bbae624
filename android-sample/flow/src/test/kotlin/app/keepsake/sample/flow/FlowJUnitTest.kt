// Gradle entry for the flow tests (`./gradlew :flow:test`); scripts/test-mobile-flows.sh runs the
// same tests through FlowTests.kt's main without JUnit.
package app.keepsake.sample.flow

import kotlin.test.Test
import kotlin.test.assertEquals

class FlowJUnitTest {
    @Test
    fun flows() {
        assertEquals(0, runFlowTests(), "see the FAIL lines above")
    }
}
