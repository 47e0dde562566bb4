import { runService } from '@flotilla/kit';
import { auth } from './service.js';

await runService(auth);
