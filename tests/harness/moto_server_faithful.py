"""moto's server with the one fix the listening design needs from it.

moto 5.2.5's SendTaskFailure handler reads `taskToken` and `error` but drops `cause` (moto/stepfunctions/
responses.py), so a Catch sees `"Cause": null`. AWS passes the cause through, and shifter's rollback reason
(e.g. "alarm orders-errors went to ALARM") comes from it. This wrapper passes it on, then runs moto_server
unchanged (same arguments). Run by harness.py; binds where moto_server is told to (127.0.0.1).
"""
from moto.server import main
from moto.stepfunctions.responses import EmptyResult, StepFunctionResponse


def send_task_failure(self):
    task_token = self._get_param("taskToken")
    self.stepfunction_backend.send_task_failure(
        task_token, error=self._get_param("error"), cause=self._get_param("cause"))
    return EmptyResult()


StepFunctionResponse.send_task_failure = send_task_failure

if __name__ == "__main__":
    main()
