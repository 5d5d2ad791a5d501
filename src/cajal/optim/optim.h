#pragma once
// Everything in cajal::optim: optimizers, learning-rate schedulers, gradient clipping and
// weight penalties.
#include "cajal/optim/adadelta.h"
#include "cajal/optim/adagrad.h"
#include "cajal/optim/adam.h"
#include "cajal/optim/clip.h"
#include "cajal/optim/lbfgs.h"
#include "cajal/optim/optimizer.h"
#include "cajal/optim/regularization.h"
#include "cajal/optim/rmsprop.h"
#include "cajal/optim/scheduler.h"
#include "cajal/optim/sgd.h"
