import csv, time, numpy as np, scipy.sparse as sp, warnings
warnings.filterwarnings('ignore')
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier, LogisticRegression
from sklearn.svm import LinearSVC
def load(p):
    r=list(csv.reader(open(p,encoding='utf-8')))[1:]
    return [x[0] for x in r],[x[1] for x in r]
Xtr,ytr=load('/work/shared/data/banking77/train.csv'); Xte,yte=load('/work/shared/data/banking77/test.csv')
Etr=np.load('use_train.npy'); Ete=np.load('use_test.npy'); ytr=np.array(ytr); yte=np.array(yte)
w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True); c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2)
Wtr=w.fit_transform(Xtr); Wte=w.transform(Xte); Ctr=c.fit_transform(Xtr); Cte=c.transform(Xte)
print('nnz/row word %.0f char %.0f'%(Wtr.nnz/Wtr.shape[0],Ctr.nnz/Ctr.shape[0]))
s=1.5
Ftr=sp.hstack([Wtr,Ctr,sp.csr_matrix(Etr*s)]).tocsr(); Fte=sp.hstack([Wte,Cte,sp.csr_matrix(Ete*s)]).tocsr()
def run(name,Ftr,Fte,m):
    t=time.time(); m.fit(Ftr,ytr); ft=time.time()-t
    print('%-45s acc=%.4f fit=%.1fs'%(name,(m.predict(Fte)==yte).mean(),ft),flush=True)
run('word+USE LinearSVC',sp.hstack([Wtr,sp.csr_matrix(Etr*s)]).tocsr(),sp.hstack([Wte,sp.csr_matrix(Ete*s)]).tocsr(),LinearSVC(C=1))
for tol,mi in [(1e-2,1000),(1e-1,1000),(1e-4,10),(1e-4,20)]:
    run(f'LinearSVC tol={tol} max_iter={mi}',Ftr,Fte,LinearSVC(C=1,tol=tol,max_iter=mi))
run('LinearSVC crammer_singer',Ftr,Fte,LinearSVC(C=1,multi_class='crammer_singer',tol=1e-2))
for a in [1e-5,3e-5]:
  for ep in [10,20]:
    run(f'SGD hinge avg a={a} ep={ep}',Ftr,Fte,SGDClassifier(loss='hinge',alpha=a,max_iter=ep,tol=None,average=True,random_state=0,n_jobs=2))
    run(f'SGD log avg a={a} ep={ep}',Ftr,Fte,SGDClassifier(loss='log_loss',alpha=a,max_iter=ep,tol=None,average=True,random_state=0,n_jobs=2))
