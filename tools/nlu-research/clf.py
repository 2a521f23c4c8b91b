import csv, time, numpy as np, scipy.sparse as sp, sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
def load(p):
    r=list(csv.reader(open(p,encoding='utf-8')))[1:]
    return [x[0] for x in r],[x[1] for x in r]
Xtr,ytr=load('/work/shared/data/banking77/train.csv'); Xte,yte=load('/work/shared/data/banking77/test.csv')
Etr=np.load('use_train.npy'); Ete=np.load('use_test.npy')
ytr=np.array(ytr); yte=np.array(yte)
t=time.time()
w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True,min_df=1,lowercase=True)
c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2,lowercase=True)
Wtr=w.fit_transform(Xtr); Wte=w.transform(Xte); Ctr=c.fit_transform(Xtr); Cte=c.transform(Xte)
print('tfidf fit %.2fs dims w=%d c=%d'%(time.time()-t,Wtr.shape[1],Ctr.shape[1]))
def run(name,Ftr,Fte,model):
    t=time.time(); model.fit(Ftr,ytr); ft=time.time()-t
    acc=(model.predict(Fte)==yte).mean(); print('%-40s acc=%.4f fit=%.1fs'%(name,acc,ft),flush=True); return model
run('tfidf LR C=10',sp.hstack([Wtr,Ctr]).tocsr(),sp.hstack([Wte,Cte]).tocsr(),LogisticRegression(C=10,max_iter=1000))
run('USE LR C=10',Etr,Ete,LogisticRegression(C=10,max_iter=1000))
for s in [1.0,1.5,2.0]:
    Ftr=sp.hstack([Wtr,Ctr,sp.csr_matrix(Etr*s)]).tocsr(); Fte=sp.hstack([Wte,Cte,sp.csr_matrix(Ete*s)]).tocsr()
    for C in [10,30]:
        run(f'tfidf+USE*{s} LR C={C}',Ftr,Fte,LogisticRegression(C=C,max_iter=2000))
    run(f'tfidf+USE*{s} LinearSVC C=1',Ftr,Fte,LinearSVC(C=1.0))
