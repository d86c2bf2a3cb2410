import { runStreamedFinish, runStreamedFinishThreadFails } from './streamedFinish.suite';

runStreamedFinish('fs');
runStreamedFinishThreadFails();
