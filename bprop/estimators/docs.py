"""The parameter documentation both estimators share (numpydoc), written once."""

SKLEARN_PARAMETERS = """\
hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation of the hidden layers.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'sgd' and 'adam' train in minibatches through `bprop.training.Trainer`;
        'lbfgs' minimises the full-batch loss with scipy's L-BFGS-B, using
        the network's backward pass for the gradient.
    alpha : float, default=0.0001
        Strength of the L2 penalty ``0.5 * alpha * ||W||^2 / n_batch`` on the
        weights (not the intercepts), scaled exactly as in scikit-learn.
    batch_size : int or 'auto', default='auto'
        Minibatch size; 'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule for solver='sgd': 'invscaling' is
        ``learning_rate_init / (t + 1) ** power_t`` with t the samples seen;
        'adaptive' divides the rate by 5 each time the stopping rule fires.
    learning_rate_init : float, default=0.001
        The initial learning rate (sgd, adam).
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Maximum number of epochs (sgd, adam) or of L-BFGS iterations.
    shuffle : bool, default=True
        Shuffle the samples every epoch (sgd, adam).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (drawn as scikit-learn draws them), the
        early-stopping split, the shuffling and dropout.
    tol : float, default=1e-4
        Training stops when the loss (or the validation score) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs.
    verbose : bool or int, default=False
        Print the loss after every epoch.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution instead of a new network.
    momentum : float, default=0.9
        Momentum of solver='sgd', in [0, 1).
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (solver='sgd').
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the
        validation score has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the best weights are restored (see ``restore_best_weights``).
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates for the first and second moment estimates.
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Epochs without a ``tol`` improvement before stopping (sgd, adam).
    max_fun : int, default=15000
        Maximum number of loss evaluations (lbfgs)."""

BPROP_PARAMETERS = """\
dropout : float or sequence of float, default=0.0
        Drop probability of a `bprop.layers.Dropout` after each hidden
        activation (one rate for all, or one per hidden layer); off when
        predicting. Needs a stochastic solver.
    layers : list or None, default=None
        A custom hidden stack replacing ``hidden_layer_sizes`` and
        ``activation``: bprop layers, registered layer names (``"ReLU"``) or
        config dicts (``{"type": "Linear", "out": 64}``), as in a YAML
        config's ``model:`` list. Input sizes are inferred; the output
        Linear is added.
    callbacks : list of bprop.training.Callback or None, default=None
        Extra callbacks for the Trainer (sgd, adam). Their epoch logs hold
        scikit-learn's ``loss`` and, with early stopping, ``val_loss`` and
        ``val_score``.
    restore_best_weights : bool or None, default=None
        None: scikit-learn's rule (restore the best-validation-score weights
        when ``early_stopping``). True: always end with the best epoch's
        weights (best validation score, or lowest training loss without early
        stopping). False: keep the last epoch's weights."""

SHARED_ATTRIBUTES = """\
loss_ : float
        The loss at the end of training (with the L2 term).
    best_loss_ : float or None
        The lowest ``loss_curve_`` value; None with early stopping.
    loss_curve_ : list of float
        The loss after each epoch (sgd, adam).
    validation_scores_ : list of float or None
        The validation score after each epoch, with early stopping.
    validation_loss_curve_ : list of float or None
        bprop: the validation loss after each epoch (without the L2 term),
        with early stopping.
    best_validation_score_ : float or None
        The best validation score, with early stopping.
    t_ : int
        Training samples seen by the solver.
    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix from layer i to layer i + 1; the
        network's own arrays.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer i + 1.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has feature names that are all strings.
    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last fit.
    n_layers_ : int
        Number of layers, counting the input and output layers.
    n_outputs_ : int
    out_activation_ : str
        The output function: 'softmax', 'logistic', 'identity' or 'exp'.
    model_ : bprop.layers.Sequential
        bprop: the trained network. It outputs the raw scores; the output
        function is fused into the loss when training."""
