import { runUploadRefusals } from './refusals.suite';

runUploadRefusals('fs');
