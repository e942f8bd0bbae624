// The daily background backup on iOS: a BGProcessingTask (needs external power and network) that
// runs DailyBackupRunner (KeepsakeFlow, tested on Linux). This file only registers, schedules,
// cancels on expiration and reschedules. The identifier is listed under
// BGTaskSchedulerPermittedIdentifiers in Info.plist (project.yml), with UIBackgroundModes
// `processing`.
#if canImport(BackgroundTasks) && canImport(UIKit)
import BackgroundTasks
import Foundation
import KeepsakeFlow

enum DailyBackupTask {
    static let identifier = "app.keepsake.sample.daily-backup"

    /// Registers the launch handler; call before the app finishes launching (App.init).
    static func register(_ runner: DailyBackupRunner) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let task = task as? BGProcessingTask else { return task.setTaskCompleted(success: false) }
            handle(task, runner: runner)
        }
    }

    /// Asks for the next run no earlier than the runner's next useful time. Submitting again
    /// replaces the pending request, so calling this at every launch is fine.
    static func schedule(_ runner: DailyBackupRunner) {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresExternalPower = true
        request.requiresNetworkConnectivity = true
        request.earliestBeginDate = runner.nextRunAt()
        do {
            try BGTaskScheduler.shared.submit(request)
        } catch {
            // Simulator, Background App Refresh off, or too many pending requests: the user can
            // still back up by hand; nothing to recover here.
        }
    }

    private static func handle(_ task: BGProcessingTask, runner: DailyBackupRunner) {
        let run = Task {
            let result = await runner.run()
            // Next run: a day after this backup, or soon again when it was stopped or may retry.
            schedule(runner)
            switch result {
            case .completed, .skipped: task.setTaskCompleted(success: true)
            case .stopped, .failed: task.setTaskCompleted(success: false)
            }
        }
        // Time is up: cancel the task; the engine turns it into Keepsake's cancellation and the
        // runner records the run as stopped before the completion above is reported.
        task.expirationHandler = { run.cancel() }
    }
}
#endif
