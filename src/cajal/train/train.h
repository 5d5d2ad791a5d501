#pragma once
// The train module: the Trainer, its callbacks, checkpoints and the progress display.
#include "cajal/train/callbacks.h"
#include "cajal/train/checkpoint.h"
#include "cajal/train/progress.h"
#include "cajal/train/trainer.h"
